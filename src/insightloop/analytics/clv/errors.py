"""The errors of the lifetime-value models: bad input, a fit that failed, a bad model file."""

from __future__ import annotations

from insightloop.errors import InsightloopError

__all__ = ["ClvError", "ClvFitError", "ClvInputError", "ModelFileError"]


class ClvError(InsightloopError):
    """Base class of the lifetime-value errors.

    Examples
    --------
    >>> ClvInputError("column 'amount' is missing", hint="Pass --amount COLUMN.").code
    'clv_input_error'
    """

    code = "clv_error"


class ClvInputError(ClvError):
    """Transactions or summary arrays that the models cannot use (missing, negative, unparsable).

    Messages name columns, counts and settings; never the values of a customer's record.
    """

    code = "clv_input_error"


class ClvFitError(ClvError):
    """Maximum likelihood did not converge, or converged to a boundary of the parameter space."""

    code = "clv_fit_error"


class ModelFileError(ClvError):
    """A saved model file is unreadable, was changed after it was written, or is of a kind this
    release does not know."""

    code = "clv_model_file_error"
