"""Errors a user can cause, each with a message a non-expert can act on."""

from __future__ import annotations

__all__ = [
    "BundleError",
    "DatasetError",
    "ExportError",
    "ImageError",
    "LightboxError",
    "RunNotFoundError",
    "StoreError",
    "TrainingError",
    "UnknownNameError",
    "WeightsError",
]


class LightboxError(Exception):
    """Base class for every error Lightbox reports to a person instead of a traceback."""


class UnknownNameError(LightboxError, KeyError):
    """A dataset, model, optimiser or device name that is not in its registry."""

    def __init__(self, kind: str, name: str, choices: list[str] | tuple[str, ...]) -> None:
        self.kind, self.name, self.choices = kind, name, list(choices)
        super().__init__(f"Unknown {kind} '{name}'. Choose one of: {', '.join(self.choices)}.")

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


class ImageError(LightboxError):
    """A file that cannot be read as an image."""


class DatasetError(LightboxError):
    """A dataset that cannot be loaded, imported or is unusable for training."""


class RunNotFoundError(LightboxError):
    """A run id that is not in the run store."""


class WeightsError(LightboxError):
    """A run whose weights are missing, unreadable or do not fit its model."""


class StoreError(LightboxError):
    """The run store cannot be opened or written."""


class TrainingError(LightboxError):
    """Training cannot start or cannot go on (bad settings, diverging loss)."""


class ExportError(LightboxError):
    """A model that cannot be exported, or whose exported file does not behave like the original."""


class BundleError(LightboxError):
    """A run bundle (.zip) that is damaged, unsafe or not made by Lightbox."""


class LimitError(LightboxError):
    """A fair-use limit of a public (private-mode) server that a visitor's request would pass."""


class ReadOnlyError(LightboxError):
    """Built-in material (the server's runs and datasets) that a visitor may use but not change."""
