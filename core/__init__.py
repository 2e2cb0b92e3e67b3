"""Lightbox core: datasets, models, training, runs and inference for image classification.

Pure Python and PyTorch; usable from a notebook, a script, the command line or the dashboard.
"""

from __future__ import annotations

from core.adversarial import LEVELS, SEARCH_EPSILONS, Attack, attack, differentiable_model, smallest_flip
from core.bundle import bundle_bytes, bundle_file_name, restore_bundle, write_bundle
from core.callbacks import EVENTS, HISTORY_COLUMNS, Callback, History, Pace, StopTraining, TrainState
from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.data.analysis import DuplicatePair, DuplicateReport, Projection, find_duplicates, project
from core.data.augment import AUGMENTATIONS, augment_batch, augment_preview
from core.data.base import ImageDataset, tensor_to_pil
from core.data.images import decode_image, fit_image
from core.data.photos import SAMPLE_PHOTOS, sample_photo
from core.data.registry import DATASETS, DatasetSpec, default_train_config, load_dataset
from core.data.samples import dataset_from_samples
from core.data.standard import STANDARD, download_dataset, load_standard
from core.data.user import (
    UserDatasetInfo,
    delete_user_dataset,
    import_dataset,
    list_user_datasets,
    load_user_dataset,
    save_user_dataset,
)
from core.devices import (
    DEVICES,
    PRECISIONS,
    available_devices,
    cap_threads,
    select_device,
    supported_precisions,
    training_device,
)
from core.distributed import DistContext, launched_by_torchrun, train_distributed
from core.errors import (
    BundleError,
    DatasetError,
    ExportError,
    ImageError,
    LightboxError,
    RunNotFoundError,
    StoreError,
    TrainingError,
    UnknownNameError,
    WeightsError,
)
from core.evaluation import (
    McNemarResult,
    ValidationPredictions,
    check_same_validation,
    ensemble,
    mcnemar,
    measure_latency,
    pareto_front,
    predict_validation,
    speed_and_size,
    validation_set,
)
from core.experiment import PreparedRun, batches_per_epoch, find_lr_for, input_spec_for, prepare_run, train_run
from core.explain import fgsm, grad_cam, loss_gradient, overlay
from core.export import EXPORT_FORMATS, export_bytes, export_run, read_metadata
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
from core.inside import Layer, conv_layers, draw_feature_maps, feature_grid, feature_maps, list_layers
from core.jobs import JobManager, JobSnapshot, default_max_jobs
from core.lr_finder import LRFinderResult, find_lr
from core.metrics import accuracy, confusion_matrix, per_class_report
from core.models.pretrained import network_available
from core.models.registry import MODELS, InputSpec, ModelSpec, build_model, count_parameters
from core.runs import STATUSES, RunInfo, RunStore, default_home, write_problem
from core.training import OPTIMIZERS, SCHEDULES, FitResult, evaluate, fit, infer, schedule_curve
from core.version import __version__, code_version
from core.warm import Warmup, demo_items, shared_pretrained, warm_up

__all__ = [
    "AUGMENTATIONS",
    "DATASETS",
    "DEVICES",
    "EVENTS",
    "EXPORT_FORMATS",
    "HISTORY_COLUMNS",
    "LEVELS",
    "MODELS",
    "OPTIMIZERS",
    "PRECISIONS",
    "PRETRAINED",
    "SAMPLE_PHOTOS",
    "SCHEDULES",
    "SEARCH_EPSILONS",
    "STANDARD",
    "STATUSES",
    "Attack",
    "BundleError",
    "Callback",
    "Classification",
    "DataConfig",
    "DatasetError",
    "DatasetSpec",
    "DistContext",
    "DuplicatePair",
    "DuplicateReport",
    "ExportError",
    "FitResult",
    "History",
    "ImageDataset",
    "ImageError",
    "InputSpec",
    "JobManager",
    "JobSnapshot",
    "LRFinderResult",
    "Layer",
    "LightboxError",
    "McNemarResult",
    "ModelConfig",
    "ModelSpec",
    "Pace",
    "Prediction",
    "Predictor",
    "PreparedRun",
    "Projection",
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
    "ValidationPredictions",
    "Warmup",
    "WeightsError",
    "__version__",
    "accuracy",
    "attack",
    "augment_batch",
    "augment_preview",
    "available_devices",
    "available_pretrained",
    "batches_per_epoch",
    "build_model",
    "bundle_bytes",
    "bundle_file_name",
    "cap_threads",
    "check_same_validation",
    "code_version",
    "confusion_matrix",
    "conv_layers",
    "count_parameters",
    "dataset_from_samples",
    "decode_image",
    "default_home",
    "default_max_jobs",
    "default_train_config",
    "delete_user_dataset",
    "demo_items",
    "differentiable_model",
    "download_dataset",
    "draw_feature_maps",
    "ensemble",
    "evaluate",
    "export_bytes",
    "export_run",
    "feature_grid",
    "feature_maps",
    "fgsm",
    "find_duplicates",
    "find_lr",
    "find_lr_for",
    "fit",
    "fit_image",
    "grad_cam",
    "import_dataset",
    "infer",
    "input_spec_for",
    "launched_by_torchrun",
    "list_layers",
    "list_user_datasets",
    "load_dataset",
    "load_standard",
    "load_user_dataset",
    "loss_gradient",
    "mcnemar",
    "measure_latency",
    "model_view",
    "network_available",
    "overlay",
    "pareto_front",
    "per_class_report",
    "predict_validation",
    "prepare_image",
    "prepare_run",
    "pretrained_label",
    "project",
    "read_metadata",
    "restore_bundle",
    "sample_photo",
    "save_user_dataset",
    "schedule_curve",
    "select_device",
    "shared_pretrained",
    "smallest_flip",
    "speed_and_size",
    "supported_precisions",
    "tensor_to_pil",
    "train_distributed",
    "train_run",
    "training_device",
    "validation_set",
    "warm_up",
    "write_bundle",
    "write_problem",
]
