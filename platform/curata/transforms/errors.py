"""Errors of the transform engine, in the ``curata.errors`` hierarchy (exit codes included)."""

from __future__ import annotations

from collections.abc import Sequence

from curata.errors import ConflictError, UsageError


class PipelineError(UsageError):
    """A pipeline (Python, YAML or TOML) that is not valid: unknown step, bad parameter…

    Attributes:
        step: 0-based position of the offending step, or ``None`` for the pipeline as a whole.
        kind: the step kind (``filter``, ``split``…), if known.
        reason: what is wrong.
    """

    def __init__(self, reason: str, *, step: int | None = None, kind: str | None = None,
                 valid: Sequence[str] = (), hint: str | None = None) -> None:
        self.reason = reason
        self.step = step
        self.kind = kind
        self.valid = list(valid)
        where = f"step {step} ({kind})" if step is not None else "pipeline"
        if hint is None:
            hint = f"Valid values: {', '.join(self.valid)}" if self.valid else (
                "See `curata derive --help` for the pipeline file format")
        super().__init__(f"Invalid {where}: {reason}", hint=hint)


class UnknownFunctionError(PipelineError):
    """An ``apply`` step names a function that is not registered.

    Only functions registered with ``curata.transforms.register`` run: a ``module:function``
    path is not imported, so a shared pipeline file cannot call arbitrary code.

    Attributes:
        function: the name the step gave.
        valid: the names registered in this process.
    """

    def __init__(self, function: str, *, valid: Sequence[str] = (), step: int | None = None
                 ) -> None:
        self.function = function
        dotted = ":" in function or "." in function
        reason = (f"{function!r} is not a registered function"
                  + (" (module paths are never imported: only registered functions run)"
                     if dotted else "")
                  + f"; registered: {', '.join(valid) if valid else 'none'}")
        super().__init__(
            reason, step=step, kind="apply", valid=valid,
            hint="Register it with @curata.transforms.register(\"NAME\") in a module and name "
                 "that module: `curata derive --import MODULE ...`, or `imports: [MODULE]` in "
                 "the pipeline file")


class UnhashableStepError(UsageError):
    """A step whose code or parameters cannot be hashed into the transform fingerprint.

    The fingerprint never falls back to something random: such a step is refused.
    """

    def __init__(self, step: str, *, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(
            f"Cannot fingerprint transform step {step!r}: {reason}",
            hint="Define the function in a module file (not a lambda or the REPL) and pass "
                 "JSON-serialisable parameters")


class StepFailedError(UsageError):
    """A step raised while processing data (bad input for the pipeline, exit 2); nothing was
    committed."""

    def __init__(self, step: str, *, reason: str, index: int | None = None) -> None:
        self.step = step
        self.reason = reason
        self.index = index
        super().__init__(f"Transform step {step!r} failed: {reason}; nothing was committed",
                         hint="Fix the step and run `curata derive` again")


class DeriveTargetError(ConflictError):
    """The target of ``derive`` holds data that derive did not produce (it would be replaced)."""

    def __init__(self, dataset: str, *, reason: str) -> None:
        self.dataset = dataset
        self.reason = reason
        super().__init__(f"Cannot derive into {dataset!r}: {reason}",
                         hint="Derive into a new dataset name (--into NAME)")
