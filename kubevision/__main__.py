from kubevision.cli import app

app()
