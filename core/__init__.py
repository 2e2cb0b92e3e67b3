"""Lightbox core: datasets, models, training, runs and inference for image classification.

Pure Python and PyTorch; usable from a notebook, a script, the command line or the dashboard.
"""

from __future__ import annotations

from core.callbacks import EVENTS, HISTORY_COLUMNS, Callback, History, StopTraining, TrainState
from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.data.augment import AUGMENTATIONS, augment_batch, augment_preview
from core.data.base import ImageDataset, tensor_to_pil
from core.data.images import decode_image, fit_image
from core.data.registry import DATASETS, DatasetSpec, load_dataset
from core.data.samples import dataset_from_samples
from core.data.user import (
    UserDatasetInfo,
    delete_user_dataset,
    import_dataset,
    list_user_datasets,
    load_user_dataset,
    save_user_dataset,
)
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
from core.experiment import PreparedRun, batches_per_epoch, find_lr_for, input_spec_for, prepare_run, train_run
from core.explain import fgsm, grad_cam, overlay
from core.inference import (
    PRETRAINED,
    Classification,
    Prediction,
    Predictor,
    available_pretrained,
    model_view,
    prepare_image,
    pretrained_label,
)
from core.jobs import JobManager, JobSnapshot
from core.lr_finder import LRFinderResult, find_lr
from core.metrics import accuracy, confusion_matrix, per_class_report
from core.models.pretrained import network_available
from core.models.registry import MODELS, InputSpec, ModelSpec, build_model, count_parameters
from core.runs import STATUSES, RunInfo, RunStore, default_home
from core.training import OPTIMIZERS, SCHEDULES, FitResult, evaluate, fit, infer, schedule_curve
from core.version import __version__, code_version

__all__ = [
    "AUGMENTATIONS",
    "DATASETS",
    "DEVICES",
    "EVENTS",
    "HISTORY_COLUMNS",
    "MODELS",
    "OPTIMIZERS",
    "PRETRAINED",
    "SCHEDULES",
    "STATUSES",
    "Callback",
    "Classification",
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
    "LRFinderResult",
    "LightboxError",
    "ModelConfig",
    "ModelSpec",
    "Prediction",
    "Predictor",
    "PreparedRun",
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
    "UserDatasetInfo",
    "WeightsError",
    "__version__",
    "accuracy",
    "augment_batch",
    "augment_preview",
    "available_devices",
    "available_pretrained",
    "batches_per_epoch",
    "build_model",
    "code_version",
    "confusion_matrix",
    "count_parameters",
    "dataset_from_samples",
    "decode_image",
    "default_home",
    "delete_user_dataset",
    "evaluate",
    "fgsm",
    "find_lr",
    "find_lr_for",
    "fit",
    "fit_image",
    "grad_cam",
    "import_dataset",
    "infer",
    "input_spec_for",
    "list_user_datasets",
    "load_dataset",
    "load_user_dataset",
    "model_view",
    "network_available",
    "overlay",
    "per_class_report",
    "prepare_image",
    "prepare_run",
    "pretrained_label",
    "save_user_dataset",
    "schedule_curve",
    "select_device",
    "tensor_to_pil",
    "train_run",
]
