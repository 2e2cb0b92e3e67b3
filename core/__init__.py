"""Lightbox core: datasets, models, training, runs and inference for image classification.

Pure Python and PyTorch; usable from a notebook, a script, the command line or the dashboard.
"""

from __future__ import annotations

from core.callbacks import EVENTS, HISTORY_COLUMNS, Callback, History, StopTraining, TrainState
from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.data.base import ImageDataset
from core.data.images import decode_image
from core.data.registry import DATASETS, DatasetSpec, load_dataset
from core.devices import DEVICES, available_devices, select_device
from core.errors import (
    DatasetError,
    ImageError,
    LightboxError,
    RunNotFoundError,
    StoreError,
    TrainingError,
    UnknownNameError,
    WeightsError,
)
from core.experiment import input_spec_for, train_run
from core.inference import Prediction, Predictor, model_view, prepare_image
from core.jobs import JobManager, JobSnapshot
from core.metrics import accuracy, confusion_matrix, per_class_report
from core.models.registry import MODELS, InputSpec, ModelSpec, build_model, count_parameters
from core.runs import STATUSES, RunInfo, RunStore, default_home
from core.training import OPTIMIZERS, FitResult, evaluate, fit, infer
from core.version import __version__, code_version

__all__ = [
    "DATASETS",
    "DEVICES",
    "EVENTS",
    "HISTORY_COLUMNS",
    "MODELS",
    "OPTIMIZERS",
    "STATUSES",
    "Callback",
    "DataConfig",
    "DatasetError",
    "DatasetSpec",
    "FitResult",
    "History",
    "ImageDataset",
    "ImageError",
    "InputSpec",
    "JobManager",
    "JobSnapshot",
    "LightboxError",
    "ModelConfig",
    "ModelSpec",
    "Prediction",
    "Predictor",
    "RunConfig",
    "RunInfo",
    "RunNotFoundError",
    "RunStore",
    "StopTraining",
    "StoreError",
    "TrainConfig",
    "TrainState",
    "TrainingError",
    "UnknownNameError",
    "WeightsError",
    "__version__",
    "accuracy",
    "available_devices",
    "build_model",
    "code_version",
    "confusion_matrix",
    "count_parameters",
    "decode_image",
    "default_home",
    "evaluate",
    "fit",
    "infer",
    "input_spec_for",
    "load_dataset",
    "model_view",
    "per_class_report",
    "prepare_image",
    "select_device",
    "train_run",
]
