"""Helpers the test packages share: real photographs and the built model store."""
