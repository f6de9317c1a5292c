"""Small implicit-feedback data sets with planted structure (tests, demos)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def planted_interactions(
    n_users: int = 300,
    n_items: int = 200,
    n_groups: int = 5,
    per_user: int = 20,
    noise: float = 0.2,
    n_valid: int = 0,
    n_test: int = 4,
    seed: int = 0,
):
    """Users in ``n_groups`` groups, each preferring its own block of items.

    Every user has ``per_user`` distinct items: a fraction ``noise`` of them
    uniform over all items, the rest from the group's block (item ``i`` is in block
    ``i % n_groups``).  The last ``n_test`` (and ``n_valid`` before them) go to test
    (and validation).  Returns :class:`negkit.data.interactions.Interactions`.
    """
    from negkit.data.interactions import Interactions

    if per_user <= n_test + n_valid:
        raise ValueError("per_user must exceed n_test + n_valid")
    rng = np.random.default_rng(seed)
    items_all = np.arange(n_items)
    rows: dict[str, list[tuple[int, int]]] = {"train": [], "valid": [], "test": []}
    for u in range(n_users):
        block = items_all[items_all % n_groups == u % n_groups]
        n_noise = int(round(noise * per_user))
        chosen = list(rng.choice(block, per_user - n_noise, replace=False))
        others = np.setdiff1d(items_all, chosen)
        chosen += list(rng.choice(others, n_noise, replace=False))
        chosen = rng.permutation(np.array(chosen))
        cut_test = per_user - n_test
        cut_valid = cut_test - n_valid
        rows["train"] += [(u, int(i)) for i in chosen[:cut_valid]]
        rows["valid"] += [(u, int(i)) for i in chosen[cut_valid:cut_test]]
        rows["test"] += [(u, int(i)) for i in chosen[cut_test:]]

    def csr(pairs: list[tuple[int, int]]) -> sp.csr_matrix:
        a = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        m = sp.csr_matrix(
            (np.ones(len(a), np.float32), (a[:, 0], a[:, 1])), shape=(n_users, n_items)
        )
        m.sort_indices()
        return m

    valid = csr(rows["valid"]) if n_valid else None
    return Interactions(csr(rows["train"]), csr(rows["test"]), valid, name="planted")
