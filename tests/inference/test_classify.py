"""EfficientNet-Lite0 on real photographs with known answers."""

from __future__ import annotations

from kubevision.inference.classify import Classifier
from kubevision.inference.registry import ModelSet
from kubevision.inference.results import TaskOptions
from tests.support.photos import PhotoShelf

CATS = {"tabby", "tiger cat", "Egyptian cat"}


def test_classify_cat_photo_has_a_cat_class_in_top_three(
    model_set: ModelSet, photos: PhotoShelf
) -> None:
    result = model_set.run(photos.open("chelsea.png"), ["classify"])["classify"]

    top3 = [item.label for item in result.items[:3]]
    assert CATS & set(top3), top3


def test_classify_coffee_photo_says_espresso_first(model_set: ModelSet, photos: PhotoShelf) -> None:
    result = model_set.run(photos.open("coffee.png"), ["classify"])["classify"]

    assert result.items[0].label == "espresso"
    assert result.items[0].score > 0.5


def test_classify_returns_five_sorted_labels_and_a_1280_embedding(
    model_set: ModelSet, photos: PhotoShelf
) -> None:
    result = model_set.run(photos.open("coffee.png"), ["classify"])["classify"]

    scores = [item.score for item in result.items]
    assert len(result.items) == 5
    assert scores == sorted(scores, reverse=True)
    assert result.embedding is not None and len(result.embedding) == 1280
    assert result.model.id == "efficientnet-lite0"
    assert result.provider == "CPUExecutionProvider"


def test_classify_options_cut_by_threshold_and_count(
    model_set: ModelSet, photos: PhotoShelf
) -> None:
    image = photos.open("coffee.png")

    few = model_set.run(image, ["classify"], {"classify": TaskOptions(max_results=2)})
    sure = model_set.run(image, ["classify"], {"classify": TaskOptions(score_threshold=0.5)})

    assert len(few["classify"].items) == 2
    assert [item.label for item in sure["classify"].items] == ["espresso"]


def test_classify_batch_matches_one_by_one(model_set: ModelSet, photos: PhotoShelf) -> None:
    images = [photos.open(name).convert("RGB") for name in ("chelsea.png", "coffee.png")]
    model_set.load(["classify"])
    classifier = model_set._loaded["classify"]
    assert isinstance(classifier, Classifier)

    batch = classifier.run(images, TaskOptions())
    single = [classifier.run([image], TaskOptions())[0] for image in images]

    for together, alone in zip(batch, single, strict=True):
        assert [i.label for i in together.items] == [i.label for i in alone.items]
        assert abs(together.items[0].score - alone.items[0].score) < 1e-4


def test_classify_similar_photos_have_closer_embeddings(
    model_set: ModelSet, photos: PhotoShelf
) -> None:
    cat = photos.open("chelsea.png")
    cat_cropped = cat.crop((20, 10, cat.width - 20, cat.height - 10))
    coffee = photos.open("coffee.png")

    vectors = [
        model_set.run(image, ["classify"])["classify"].embedding
        for image in (cat, cat_cropped, coffee)
    ]

    def cosine(a: list[float] | None, b: list[float] | None) -> float:
        assert a is not None and b is not None
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        norms: float = sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5
        return dot / norms

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
