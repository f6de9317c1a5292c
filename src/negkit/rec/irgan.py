"""IRGAN for item recommendation: a generator MF samples negatives for a discriminator MF.

Wang et al. (SIGIR 2017), "IRGAN: A Minimax Game for Unifying Generative and Discriminative
Information Retrieval Models".  Both players are MF models with an item bias (folded into the
tables: users carry a constant 1 column, items their bias, so ``score = user . item``):

* the generator ``p_θ(i | u) = softmax(g_θ(u, i) / τ)`` over every item -- the ``irgan``
  sampler of the registry (:class:`negkit.samplers.irgan.IRGANSampler`), fitted on the
  generator's live tables, draws the discriminator's negatives (its numba kernel on the host,
  its torch path here, on CPU or GPU);
* the discriminator ``D(u, i) = σ(f_φ(u, i))`` ascends
  ``Σ_u E_{i ~ true}[log D] + E_{j ~ p_θ}[log(1 - D)]`` (binary cross-entropy, one generated
  negative per training pair, drawn afresh each batch; L2 ``reg`` on the batch's rows);
* the generator descends ``E_{j ~ p_θ}[log(1 - D(u, j))]`` by REINFORCE:
  ``∇_θ ≈ -1/S Σ_s r(u, j_s) w_s ∇_θ log p_θ(j_s | u)`` with ``S`` samples per user.

Reward ``r`` (``reward=``):

* ``"sigmoid"`` (default): ``2 (σ(f_φ) - 1/2)``, the authors' item-recommendation code
  (geek-ai/irgan, ``dis_model.py``).  It is bounded in (-1, 1) and zero where D is undecided,
  so it works as a built-in baseline: items that D takes for fakes are pushed *down*.
* ``"log1pexp"``: ``log(1 + e^{f_φ}) = -log(1 - D)``, the paper's objective differentiated
  as written.  Always positive, so every sampled item is pushed up and only the sizes of the
  pushes differ: a higher-variance estimator without a baseline.

Sampling for the generator's step (``sample_lambda=λ``): as the authors' code, the ``S`` items
come from the mixture ``p_n = (1 - λ) p_θ + λ · uniform(user's training positives)`` and the
reward is weighted by ``w = p_θ / p_n`` (importance sampling; ``λ = 0``: plain on-policy
REINFORCE, ``w = 1``).  The mixture makes sure the generator sees the user's positives, whose
reward is high, early in training, when ``p_θ`` rarely proposes them.

Pre-training: both players start from one BPR-MF model (:class:`negkit.rec.mf_bpr.BPRMF`,
uniform negatives excluding positives), as issue #18 describes the paper's set-up; pass
``init=`` to :meth:`IRGAN.fit` to start from other tables.

Options that follow the authors' item-recommendation code (geek-ai/irgan, ``cf_gan.py``,
``dis_model.py``, ``gen_model.py``, ``cf_dns.py``); unset, the trainer is as above:

* ``d_tau``: the discriminator's negatives come from softmax(g / τ_d) (code: 0.2) while the
  generator's policy stays softmax(g / τ) (code: 1);
* ``pretrain_negatives="dns"``: pre-train with DNS (best of ``pretrain_dns_m`` uniform
  non-positive candidates by the live score, Zhang et al. 2013; ``cf_dns.py``);
  ``d_init="uniform"``: the discriminator starts from U(-δ, δ) factors and zero biases
  (``init_delta`` = δ, code 0.05) instead of the generator's start;
* ``optimizer="sgd"``: plain SGD for both players (code) instead of Adam;
* ``d_loss="code"``: the discriminator's batch loss as TensorFlow minimises the code's vector
  loss: the *sum* over the batch's 2B rows (B true, B generated) of the cross-entropy, plus
  ``reg · ½ Σ ||row||²`` (``tf.nn.l2_loss`` of the rows' user, item and bias) broadcast into
  each of the 2B rows, i.e. ``2B · reg · ½ Σ_rows ||row||²`` (code: reg = 0.1 / 16);
* ``g_samples_per_positive=c``: a user's generator step draws ``c · |P_u|`` items (code: 2)
  instead of ``g_samples``, and averages over its own draws;
* ``d_resample_every=K``: one negative per training pair is drawn every ``K`` discriminator
  epochs of a round (code: 5, at epochs 0, 5, ...) instead of afresh at every batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from negkit.samplers._kernels import check_positive

REWARDS = ("sigmoid", "log1pexp")
OPTIMIZERS = ("adam", "sgd")
D_LOSSES = ("mean", "code")
D_INITS = ("copy", "uniform")
PRETRAIN_NEGATIVES = ("uniform", "dns")

__all__ = ["IRGAN", "REWARDS", "generator_log_likelihood"]

_DRAW_CHUNK = 4096  # anchors per call when the negatives of a whole epoch are drawn at once


def _fixed_last_column(t: torch.Tensor) -> None:
    """Keep a user table's last column (the constant 1 of the folded bias) out of training."""

    def hook(g: torch.Tensor) -> torch.Tensor:
        g = g.clone()
        g[:, -1] = 0
        return g

    t.register_hook(hook)


class IRGAN:
    """IRGAN (pointwise, item recommendation) with MF generator and discriminator, in torch.

    Parameters
    ----------
    dim : MF width (both players; the tables have ``dim + 1`` columns with the folded bias).
    tau : the generator's temperature τ (its law is softmax(g / τ)).
    d_tau : the temperature of the discriminator's negatives; ``None``: ``tau``.
    pretrain_epochs : BPR-MF epochs (numba engine) that initialise both players.
    pretrain_negatives : ``"uniform"`` or ``"dns"`` (best of ``pretrain_dns_m``).
    d_init : ``"copy"`` (the generator's start) or ``"uniform"`` (U(-init_delta, init_delta)).
    optimizer : ``"adam"`` or ``"sgd"`` (both players).
    d_loss : ``"mean"`` (batch means, L2 ``reg / 2`` per pair) or ``"code"`` (see module).
    g_samples_per_positive : when > 0, ``c · |P_u|`` draws per user instead of ``g_samples``.
    d_resample_every : when > 0, negatives drawn for every pair each K discriminator epochs.
    rounds : adversarial rounds; each runs ``d_epochs`` discriminator epochs (passes over the
        training pairs) then ``g_epochs`` generator epochs (passes over the users).
    g_samples : items ``S`` sampled per user in a generator step.
    sample_lambda : weight λ of the user's positives in the generator's proposal (see module).
    reward : ``"sigmoid"`` or ``"log1pexp"`` (see module).
    d_lr, g_lr : step sizes (``optimizer``); reg : L2 weight on the discriminator's batch rows.
    exclude_positives : the discriminator's negatives avoid the user's training positives.
    device : torch device of both players and of the sampler's draws.
    """

    def __init__(
        self,
        dim: int = 64,
        tau: float = 1.0,
        *,
        d_tau: float | None = None,
        pretrain_epochs: int = 50,
        pretrain_negatives: str = "uniform",
        pretrain_dns_m: int = 5,
        d_init: str = "copy",
        init_delta: float = 0.05,
        optimizer: str = "adam",
        d_loss: str = "mean",
        g_samples_per_positive: int = 0,
        d_resample_every: int = 0,
        pretrain_lr: float = 0.05,
        pretrain_reg: float = 0.0025,
        rounds: int = 5,
        d_epochs: int = 2,
        g_epochs: int = 2,
        batch_size: int = 512,
        g_batch_users: int = 64,
        g_samples: int = 32,
        sample_lambda: float = 0.2,
        reward: str = "sigmoid",
        d_lr: float = 1e-3,
        g_lr: float = 1e-3,
        reg: float = 1e-4,
        exclude_positives: bool = False,
        device: str | torch.device = "cpu",
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        self.dim = dim
        self.tau = tau
        self.d_tau = d_tau
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_negatives = pretrain_negatives
        self.pretrain_dns_m = pretrain_dns_m
        self.d_init = d_init
        self.init_delta = init_delta
        self.optimizer = optimizer
        self.d_loss = d_loss
        self.g_samples_per_positive = g_samples_per_positive
        self.d_resample_every = d_resample_every
        self.pretrain_lr = pretrain_lr
        self.pretrain_reg = pretrain_reg
        self.rounds = rounds
        self.d_epochs = d_epochs
        self.g_epochs = g_epochs
        self.batch_size = batch_size
        self.g_batch_users = g_batch_users
        self.g_samples = g_samples
        self.sample_lambda = sample_lambda
        self.reward = reward
        self.d_lr = d_lr
        self.g_lr = g_lr
        self.reg = reg
        self.exclude_positives = exclude_positives
        self.device = device
        self.threads = threads
        self.seed = seed
        self._check()

    def _check(self) -> None:
        def count(name: str, minimum: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")

        for name, minimum in (("dim", 1), ("pretrain_epochs", 0), ("rounds", 0), ("d_epochs", 0),
                              ("g_epochs", 0), ("batch_size", 1), ("g_batch_users", 1),
                              ("g_samples", 1), ("threads", 1), ("pretrain_dns_m", 1),
                              ("g_samples_per_positive", 0), ("d_resample_every", 0)):  # fmt: skip
            count(name, minimum)
        for name in ("tau", "pretrain_lr", "d_lr", "g_lr", "init_delta"):
            check_positive(getattr(self, name), name)
        if self.d_tau is not None:
            check_positive(self.d_tau, "d_tau")
        for name, allowed in (("optimizer", OPTIMIZERS), ("d_loss", D_LOSSES),
                              ("d_init", D_INITS),
                              ("pretrain_negatives", PRETRAIN_NEGATIVES)):  # fmt: skip
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("reg", "pretrain_reg"):
            v = float(getattr(self, name))
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {getattr(self, name)!r}")
        if not 0.0 <= float(self.sample_lambda) < 1.0:
            raise ValueError(f"sample_lambda must be in [0, 1), got {self.sample_lambda!r}")
        if self.reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {self.reward!r}")

    # ------------------------------------------------------------------ pretraining
    def pretrain(self, train: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
        """BPR-MF (uniform or DNS negatives, positives excluded) on ``train``: folded tables."""
        import negkit.samplers as ns
        from negkit.rec.mf_bpr import BPRMF

        train = sp.csr_matrix(train)
        mf = BPRMF(dim=self.dim, lr=self.pretrain_lr, reg=self.pretrain_reg,
                   epochs=self.pretrain_epochs, threads=self.threads, seed=self.seed)  # fmt: skip
        mf.init(*train.shape)
        if self.pretrain_epochs > 0:
            if self.pretrain_negatives == "dns":
                neg = ns.get("dns", n_candidates=int(self.pretrain_dns_m), exclude_positives=True,
                             seed=self.seed)  # fmt: skip
                neg = neg.fit(n_items=train.shape[1], positives=train, output=mf.item_table_,
                              input=mf.user_table_)  # fmt: skip
            else:
                neg = ns.get("uniform", exclude_positives=True, seed=self.seed)
                neg = neg.fit(n_items=train.shape[1], positives=train)
            mf.fit(train, neg)
        return mf.user_embeddings(), mf.item_embeddings()

    # ------------------------------------------------------------------ training
    def fit(
        self,
        train: sp.spmatrix,
        init: tuple[np.ndarray, np.ndarray] | None = None,
        on_round: Callable[[int, IRGAN], Any] | None = None,
    ) -> IRGAN:
        """Pre-train (or start from ``init`` = (user, item) folded tables), then play.

        ``on_round(r, self)`` is called after pre-training (r = 0) and after every round.
        """
        import negkit.samplers as ns

        self._check()
        train = sp.csr_matrix(train, dtype=np.float32)
        train.sum_duplicates()
        n_users, n_items = train.shape
        if train.nnz == 0:
            raise ValueError("the training matrix has no interactions")
        dev = torch.device(self.device)
        self.device_ = dev
        if init is None:
            init = self.pretrain(train)
        users0, items0 = (np.ascontiguousarray(t, dtype=np.float32) for t in init)
        if users0.shape != (n_users, self.dim + 1) or items0.shape != (n_items, self.dim + 1):
            raise ValueError(
                f"init tables must be ({n_users}, {self.dim + 1}) and ({n_items}, {self.dim + 1}) "
                f"(dim + 1 columns: the folded item bias), got {users0.shape} and {items0.shape}"
            )
        self.gen_ = torch.Generator(device=dev).manual_seed(int(self.seed))

        def param(a: np.ndarray) -> torch.Tensor:
            return torch.nn.Parameter(torch.tensor(a, device=dev))

        self.g_user_, self.g_item_ = param(users0), param(items0)
        if self.d_init == "uniform":
            self.d_user_, self.d_item_ = (param(t) for t in self._uniform_tables(n_users, n_items))
        else:
            self.d_user_, self.d_item_ = param(users0), param(items0)
        _fixed_last_column(self.g_user_)
        _fixed_last_column(self.d_user_)
        opt = torch.optim.SGD if self.optimizer == "sgd" else torch.optim.Adam
        self.g_opt_ = opt([self.g_user_, self.g_item_], lr=self.g_lr)
        self.d_opt_ = opt([self.d_user_, self.d_item_], lr=self.d_lr)

        # the generator as a registry sampler, on its live tables
        if dev.type == "cpu":  # shares the parameters' memory
            g_u, g_i = self.g_user_.detach().numpy(), self.g_item_.detach().numpy()
        else:
            g_u, g_i = users0.copy(), items0.copy()
        self.sampler_ = ns.get(
            "irgan",
            tau=self.tau if self.d_tau is None else self.d_tau,
            seed=self.seed,
            exclude_positives=self.exclude_positives,
        ).fit(output=g_i, input=g_u, positives=train)
        if dev.type != "cpu":
            self.sampler_.use_tables(output=self.g_item_, input=self.g_user_)

        coo = train.tocoo()
        self._pairs = torch.tensor(np.stack([coo.row, coo.col], 1), dtype=torch.int64, device=dev)
        self._train_t = torch.sparse_coo_tensor(
            self._pairs.T,
            torch.ones(train.nnz, device=dev),
            (n_users, n_items),
            check_invariants=False,
        ).coalesce()
        self._users = torch.tensor(
            np.flatnonzero(np.diff(train.indptr) > 0), dtype=torch.int64, device=dev
        )
        self._n_pos = torch.tensor(np.diff(train.indptr), dtype=torch.int64, device=dev)
        self._d_neg: torch.Tensor | None = None
        self._d_count = 0
        self.history_: list[dict[str, float]] = []
        if on_round is not None:
            on_round(0, self)
        for r in range(1, int(self.rounds) + 1):
            t0 = time.perf_counter()
            self._d_count = 0  # the code redraws at a round's discriminator epochs 0, K, 2K, ...
            d_loss = [self.d_epoch() for _ in range(int(self.d_epochs))]
            g_loss = [self.g_epoch() for _ in range(int(self.g_epochs))]
            self.history_.append({
                "round": r,
                "d_loss": float(np.mean(d_loss)) if d_loss else float("nan"),
                "g_loss": float(np.mean(g_loss)) if g_loss else float("nan"),
                "seconds": time.perf_counter() - t0,
            })  # fmt: skip
            if not all(torch.isfinite(t).all() for t in (self.g_user_, self.g_item_,
                                                         self.d_user_, self.d_item_)):  # fmt: skip
                raise FloatingPointError(f"IRGAN diverged in round {r}: lower g_lr / d_lr")
            if on_round is not None:
                on_round(r, self)
        return self

    def _uniform_tables(self, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
        """Folded tables with U(-δ, δ) factors, zero item biases, the users' constant 1."""
        rng = np.random.default_rng(self.seed)
        d, delta = int(self.dim), float(self.init_delta)
        users = np.ones((n_users, d + 1), dtype=np.float32)
        items = np.zeros((n_items, d + 1), dtype=np.float32)
        users[:, :d] = rng.uniform(-delta, delta, (n_users, d))
        items[:, :d] = rng.uniform(-delta, delta, (n_items, d))
        return users, items

    def _draw_all(self) -> torch.Tensor:
        """One generated negative for every training pair (``cf_gan.py``'s ``generate_for_d``)."""
        u = self._pairs[:, 0]
        with torch.no_grad():
            return torch.cat([self.sampler_.sample(u[lo : lo + _DRAW_CHUNK], 1).squeeze(1)
                              for lo in range(0, u.shape[0], _DRAW_CHUNK)])  # fmt: skip

    def d_epoch(self) -> float:
        """One pass of the discriminator over the training pairs, negatives from the generator."""
        pairs = self._pairs
        k = int(self.d_resample_every)
        if k > 0:
            if self._d_neg is None or self._d_count % k == 0:
                self._d_neg = self._draw_all()
            self._d_count += 1
        perm = torch.randperm(pairs.shape[0], generator=self.gen_, device=pairs.device)
        total = torch.zeros((), device=pairs.device)
        bs = int(self.batch_size)
        for lo in range(0, pairs.shape[0], bs):
            rows = perm[lo : lo + bs]
            batch = pairs[rows]
            u, i = batch[:, 0], batch[:, 1]
            if k > 0:
                j = self._d_neg[rows]
            else:
                with torch.no_grad():
                    j = self.sampler_.sample(u, 1).squeeze(1)
            eu, ei, ej = self.d_user_[u], self.d_item_[i], self.d_item_[j]
            f_pos = (eu * ei).sum(1)
            f_neg = (eu * ej).sum(1)
            if self.d_loss == "code":
                # 2B rows; tf.nn.l2_loss of each row broadcast into each row's loss (module)
                l2 = (2 * eu[:, :-1].square().sum() + ei.square().sum() + ej.square().sum()) / 2
                loss = F.softplus(-f_pos).sum() + F.softplus(f_neg).sum()
                loss = loss + 2 * u.shape[0] * self.reg * l2
            else:
                loss = F.softplus(-f_pos).mean() + F.softplus(f_neg).mean()
                loss = loss + self.reg / 2 * (eu.square().sum() + ei.square().sum()
                                              + ej.square().sum()) / u.shape[0]  # fmt: skip
            self.d_opt_.zero_grad(set_to_none=True)
            loss.backward()
            self.d_opt_.step()
            total += loss.detach() * (1 if self.d_loss == "code" else u.shape[0])  # a sum already
        return float(total) / pairs.shape[0]

    def g_epoch(self) -> float:
        """One pass of the generator over the users: REINFORCE against the discriminator."""
        users = self._users
        perm = users[torch.randperm(users.shape[0], generator=self.gen_, device=users.device)]
        lam = float(self.sample_lambda)
        total = torch.zeros((), device=users.device)
        bs = int(self.g_batch_users)
        for lo in range(0, perm.shape[0], bs):
            u = perm[lo : lo + bs]
            logp = torch.log_softmax((self.g_user_[u] @ self.g_item_.T) / self.tau, dim=1)
            with torch.no_grad():
                p = logp.exp()
                if lam > 0:
                    pos = torch.index_select(self._train_t, 0, u).to_dense()
                    pn = (1 - lam) * p + lam * pos / pos.sum(1, keepdim=True)
                else:
                    pn = p
                c = int(self.g_samples_per_positive)
                n_draw = c * self._n_pos[u] if c > 0 else None
                s = int(n_draw.max()) if c > 0 else int(self.g_samples)
                j = torch.multinomial(pn, s, replacement=True, generator=self.gen_)
                f = (self.d_user_[u][:, None, :] * self.d_item_[j]).sum(-1)
                r = 2 * (torch.sigmoid(f) - 0.5) if self.reward == "sigmoid" else F.softplus(f)
                r = r * (p.gather(1, j) / pn.gather(1, j))
                if c > 0:  # each user averages over its own c·|P_u| draws
                    keep = torch.arange(s, device=u.device)[None, :] < n_draw[:, None]
                    r = r * keep * (s / n_draw[:, None])
            loss = -(r * logp.gather(1, j)).mean()
            self.g_opt_.zero_grad(set_to_none=True)
            loss.backward()
            self.g_opt_.step()
            total += loss.detach() * u.shape[0]
        return float(total) / max(users.shape[0], 1)

    # ------------------------------------------------------------------ export
    def generator_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """The generator's (user, item) folded tables as float32 numpy copies."""
        return (self.g_user_.detach().cpu().numpy().copy(),
                self.g_item_.detach().cpu().numpy().copy())  # fmt: skip

    def discriminator_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """The discriminator's (user, item) folded tables as float32 numpy copies."""
        return (self.d_user_.detach().cpu().numpy().copy(),
                self.d_item_.detach().cpu().numpy().copy())  # fmt: skip

    def evaluate(
        self, test: sp.spmatrix, exclude: Any = (), ks: tuple[int, ...] = (3, 5, 10)
    ) -> dict[str, dict[str, float]]:
        """Full-ranking metrics of both players (:func:`negkit.eval.rec.evaluate_ranking`)."""
        from negkit.eval.rec import evaluate_ranking

        return {
            "generator": evaluate_ranking(*self.generator_tables(), test, exclude=exclude, ks=ks),
            "discriminator": evaluate_ranking(
                *self.discriminator_tables(), test, exclude=exclude, ks=ks
            ),
        }


def generator_log_likelihood(
    user_table: np.ndarray, item_table: np.ndarray, test: sp.spmatrix, tau: float = 1.0
) -> float:
    """Mean ``log softmax(u . v / τ)_i`` over the pairs ``(u, i)`` of ``test`` (all items)."""
    test = sp.csr_matrix(test).tocoo()
    if test.nnz == 0:
        raise ValueError("test has no pairs")
    U = torch.as_tensor(np.asarray(user_table, dtype=np.float32))
    V = torch.as_tensor(np.asarray(item_table, dtype=np.float32))
    users = np.unique(test.row)
    logp = torch.log_softmax((U[users] @ V.T).double() / float(tau), dim=1).numpy()
    row = np.searchsorted(users, test.row)
    return float(logp[row, test.col].mean())
