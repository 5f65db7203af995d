"""Mixed precision and device transfer of batches for the estimator."""

from collections.abc import Mapping
from contextlib import nullcontext

import torch

_PRECISIONS = {"32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class MixedPrecisionMixin:
    """``precision="bf16"|"fp16"``: autocast, and a gradient scaler for fp16 on CUDA.

    Batches go to the device without blocking when it is a GPU (the loaders
    pin their memory: ``LengthOrderMixin.get_iterator``).
    """

    def _autocast(self):
        dtype = _PRECISIONS.get(self.precision)
        if dtype is None:
            return nullcontext()
        device_type = torch.device(self.device).type
        return torch.autocast(device_type=device_type, dtype=dtype)

    def infer(self, x, **fit_params):
        """Move a batch to the device (non-blocking) and run the module."""
        if isinstance(x, Mapping):
            non_blocking = str(self.device).startswith("cuda")
            x = {k: v.to(self.device, non_blocking=non_blocking)
                 if isinstance(v, torch.Tensor) else v for k, v in x.items()}
            x.update(fit_params)
            with self._autocast():
                out = self.module_(**x)
            if isinstance(out, tuple):  # (logits, representation, ...)
                return tuple(o.float() for o in out)
            return out.float()
        return super().infer(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        scaler = self._grad_scaler()
        if scaler is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler.scale(loss).backward()
        scaler.unscale_(self.optimizer_)  # clipping callbacks see true gradients
        return {"loss": loss, "y_pred": y_pred}

    def _grad_scaler(self):
        if self.precision != "fp16" or not str(self.device).startswith("cuda"):
            return None
        if getattr(self, "grad_scaler_", None) is None:
            self.grad_scaler_ = torch.amp.GradScaler("cuda")
        return self.grad_scaler_

    def _step_optimizer(self, step_fn):
        scaler = self._grad_scaler()
        if scaler is None:
            return super()._step_optimizer(step_fn)
        step_fn()
        scaler.step(self.optimizer_)
        scaler.update()
