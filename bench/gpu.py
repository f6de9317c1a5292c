"""The tensor engine on the GPU: seconds an epoch, an evaluation and peak memory, per sampler.

For LightGCN and MF on one data set (Gowalla by default: dim 64, 3 layers, Adam at 1e-3,
batch 2048; MF with in-batch softmax at batch 4096), with rns, pns, dns (16 candidates),
adaptive, mixgcf and in-batch negatives: ``--epochs`` timed epochs through
:func:`negkit.rec.train.run` (the first epoch, with its warm-up, is reported apart), one
full-ranking evaluation on the device (:class:`negkit.eval.rec_torch.DeviceRanking`), and the
peak GPU memory.  In the same run, a minimal all-on-device PyTorch LightGCN loop (randperm,
randint negatives with positives rejected by a sorted-key lookup, CSR ``sparse.mm``, Adam)
is the reference; every row gives its epoch time over the reference's.

    python bench/gpu.py --device cuda --json gpu.json          # one H200: a few minutes
    python bench/gpu.py --device cpu --data ml-100k --epochs 1  # small, to see that it runs

NEGKIT_DATA must hold the data set.  Timings synchronise the device before reading clocks.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from negkit.data import registry
from negkit.eval.rec_torch import DeviceRanking
from negkit.rec.torch_models import normalized_adjacency
from negkit.rec.train import RecSettings, run

SAMPLERS = ("rns", "pns", "dns", "adaptive", "mixgcf", "in-batch")
SAMPLER_PARAMS = {"dns": {"n_candidates": 16}}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return None


def reference_lightgcn(data, args, device: torch.device) -> dict:
    """A minimal all-on-device LightGCN with uniform negatives (the reference loop)."""
    torch.manual_seed(args.seed)
    adj = normalized_adjacency(data.train)
    A = torch.sparse_csr_tensor(
        torch.from_numpy(adj.indptr.astype(np.int64)),
        torch.from_numpy(adj.indices.astype(np.int64)),
        torch.from_numpy(adj.data),
        size=adj.shape,
    ).to(device)
    n_u, n_i = data.n_users, data.n_items
    emb = torch.nn.Parameter(torch.randn(n_u + n_i, args.dim, device=device) * 0.1)
    opt = torch.optim.Adam([emb], lr=1e-3)
    coo = data.train.tocoo()
    users = torch.from_numpy(coo.row.astype(np.int64)).to(device)
    items = torch.from_numpy(coo.col.astype(np.int64)).to(device)
    keys = torch.sort(users * n_i + items).values

    def propagate():
        out, e = [emb], emb
        for _ in range(args.layers):
            e = torch.sparse.mm(A, e)
            out.append(e)
        return torch.stack(out).mean(0)

    def epoch() -> torch.Tensor:
        perm = torch.randperm(users.numel(), device=device)
        total = torch.zeros((), device=device)
        for lo in range(0, perm.numel(), args.batch_size):
            b = perm[lo : lo + args.batch_size]
            u, p = users[b], items[b]
            neg = torch.randint(n_i, u.shape, device=device)
            for _ in range(4):  # redraw the negatives that are training positives
                key = u * n_i + neg
                at = torch.searchsorted(keys, key).clamp_(max=keys.numel() - 1)
                bad = keys[at] == key
                neg = torch.where(bad, torch.randint(n_i, u.shape, device=device), neg)
            e = propagate()
            eu, ep, en = e[u], e[n_u + p], e[n_u + neg]
            loss = torch.nn.functional.softplus((eu * en).sum(-1) - (eu * ep).sum(-1)).mean()
            ego = emb[u].pow(2).sum() + emb[n_u + p].pow(2).sum() + emb[n_u + neg].pow(2).sum()
            loss = loss + 1e-4 * 0.5 * ego / u.numel()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
        return total

    _reset_peak(device)
    times = []
    for _ in range(args.epochs + 1):
        _sync(device)
        t0 = time.perf_counter()
        float(epoch())
        _sync(device)
        times.append(time.perf_counter() - t0)
    return {
        "model": "reference-lightgcn",
        "sampler": "rns",
        "first_epoch_s": times[0],
        "s_per_epoch": float(np.median(times[1:])),
        "peak_mib": _peak_mib(device),
    }


def negkit_row(
    data, args, device: torch.device, model: str, sampler: str, cuda_graph: bool | None = None
) -> dict:
    batch = 4096 if (model == "mf" and sampler == "in-batch") else args.batch_size
    settings = RecSettings(
        data=data,
        model=model,
        engine="torch",
        dim=args.dim,
        epochs=args.epochs + 1,
        batch_size=batch,
        threads=args.threads,
        device=args.device,
        n_layers=args.layers,
        n_candidates=16,
        sampler_params=SAMPLER_PARAMS.get(sampler, {}),
        cuda_graph=cuda_graph,
    )
    _reset_peak(device)
    t0 = time.perf_counter()
    result = run(settings, sampler, seed=args.seed)
    total = time.perf_counter() - t0
    seconds = [row["seconds"] for row in result["history"]]
    ranking = DeviceRanking(
        data.test, [data.train, data.valid], ks=(20,), chunk_size=args.eval_chunk, device=device
    )
    U = torch.as_tensor(result["user_embeddings"], device=device)
    V = torch.as_tensor(result["item_embeddings"], device=device)
    ranking(U, V)  # warm-up
    _sync(device)
    t1 = time.perf_counter()
    metrics = ranking(U, V)
    eval_s = time.perf_counter() - t1
    return {
        "model": model,
        "sampler": sampler,
        "batch_size": batch,
        "step_mode": result["step_mode"],
        "first_epoch_s": seconds[0],
        "s_per_epoch": float(np.median(seconds[1:])),
        "eval_s": eval_s,
        "peak_mib": _peak_mib(device),
        "run_s": total,
        "recall@20": metrics["recall@20"],
        "ndcg@20": metrics["ndcg@20"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="gowalla")
    p.add_argument("--device", default="cuda")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-chunk", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", nargs="*", default=["lightgcn", "mf"])
    p.add_argument("--samplers", nargs="*", default=list(SAMPLERS))
    p.add_argument("--json", help="also write the rows as JSON here")
    p.add_argument(
        "--eager-too",
        nargs="*",
        default=["lightgcn:rns", "mf:in-batch"],
        help="model:sampler rows to run a second time with every step eager (no CUDA graph)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=0.0,
        help="start no new row after this many seconds (0: no limit); skipped rows are listed",
    )
    args = p.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    started = time.perf_counter()
    data = registry.load(args.data)
    torch.set_num_threads(args.threads)
    ref = reference_lightgcn(data, args, device)
    print(json.dumps(ref), flush=True)
    rows = [ref]
    plan = [(m, s, None) for m in args.models for s in args.samplers]
    plan += [(*pair.split(":"), False) for pair in args.eager_too if device.type == "cuda"]
    skipped = []
    for model, sampler, graph in plan:
        if args.max_seconds and time.perf_counter() - started > args.max_seconds:
            skipped.append(f"{model}:{sampler}" + (" (eager)" if graph is False else ""))
            continue
        try:
            row = negkit_row(data, args, device, model, sampler, cuda_graph=graph)
        except Exception as err:  # noqa: BLE001 - report the row's failure, go on with the rest
            row = {"model": model, "sampler": sampler, "error": f"{type(err).__name__}: {err}"}
            print(json.dumps(row), flush=True)
            rows.append(row)
            continue
        row["ratio_to_reference"] = row["s_per_epoch"] / ref["s_per_epoch"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(f"\n{args.data} on {name}: dim {args.dim}, {args.layers} layers, {args.epochs} epochs")
    head = f"{'model':<20} {'sampler':<9} {'s/epoch':>8} {'ratio':>6} {'eval s':>7} {'peak MiB':>9}"
    print(head + f" {'Recall@20':>9}  step")
    for r in rows:
        if "error" in r:
            print(f"{r['model']:<20} {r['sampler']:<9} failed: {r['error']}")
            continue
        peak = "-" if r["peak_mib"] is None else f"{r['peak_mib']:.0f}"
        print(f"{r['model']:<20} {r['sampler']:<9} {r['s_per_epoch']:8.3f} "
              f"{r.get('ratio_to_reference', 1.0):6.2f} {r.get('eval_s', float('nan')):7.3f} "
              f"{peak:>9} {r.get('recall@20', float('nan')):9.4f}  "
              f"{r.get('step_mode', 'eager')}")  # fmt: skip
    if skipped:
        print(f"not run (--max-seconds {args.max_seconds:g}): {', '.join(skipped)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"device": name, "args": vars(args), "rows": rows, "skipped": skipped}, f, indent=1
            )


if __name__ == "__main__":
    main()
