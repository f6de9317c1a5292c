"""Settings a recommender's loss or training mode would ignore, refused before training (they
would be recorded in ``metrics.json`` as having run).  Torch-free: ``negkit.rec.train`` checks
them for both engines, :class:`negkit.rec.torch_train.TorchTrainer` for its direct callers."""

from __future__ import annotations

__all__ = ["check_mixgcf", "check_tau"]


def check_mixgcf(loss: str, n_negs: int) -> None:
    """MixGCF trains one synthetic negative a pair with the BPR loss: another loss or
    ``n_negs`` would be ignored (and recorded as having run), so they are refused."""
    why = "one synthetic negative a pair, mixed from n_candidates draws"
    if loss != "bpr":
        raise ValueError(f"mixgcf trains with the BPR loss, not {loss!r} ({why})")
    if n_negs != 1:
        raise ValueError(
            f"n_negs does not apply to mixgcf ({why}): set n_candidates (--n-candidates)"
        )


def check_tau(loss: str, tau: float, of: str = "") -> None:
    """A temperature the loss does not read (bpr, bce) is refused: it would be recorded as
    having run.  ``of`` names whose loss it is, for the message."""
    if float(tau) != 1.0 and loss in ("bpr", "bce"):
        raise ValueError(f"tau is the softmax losses' temperature; {loss!r}{of} does not read it")
