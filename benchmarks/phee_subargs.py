"""PHEE sub-arguments with a drug-conditioned tagger (issue 14, round 4): train, export, score.

The ADE tagger (``medlens/assets/ade``) tags each sentence once; PHEE annotates a
Dosage/Route/Freq/Duration only for the treatment of an event. This script trains
a second tagger (:mod:`medlens.medications.subargs`) that reads the sentence with
one drug marked and tags that drug's sub-arguments, one pass per DRUG span of the
ADE tagger, and scores it the way ``benchmarks/phee_eval.py`` does (exact offsets,
every gold argument of the sentence).

    # train on train90 (the tune slice held out), from the ADE tagger's weights (recovered from int8)
    python benchmarks/phee_subargs.py train --output /tmp/subargs --epochs 4 --lr 5e-5
    python -m medlens.cli export /tmp/subargs/ep4 -o /tmp/subargs/onnx    # int8 ONNX (writes labels.json)
    # score: the ADE tagger's own sub-arguments, the conditioned tagger's, and their combinations
    python benchmarks/phee_subargs.py score --model /tmp/subargs/onnx --split tune

Modes scored: ``shipped`` (the ADE tagger's sub-arguments), ``cond`` (the conditioned tagger's),
``union``, ``shipped-if-cond`` (an ADE tagger span kept only when the conditioned tagger found an
overlapping span of its type: a filter of precision), ``cond-if-shipped``.

Choices are made on the tune slice of train (``--split tune``); PHEE dev is scored as few times as
possible; the official PHEE test split is not in ../shared/data and is never used.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from medlens.medications.ade import tidy_spans  # noqa: E402
from medlens.medications.phee import SUB_ARGUMENTS, gold_arguments, read_phee, score_arguments, tune_split  # noqa: E402
from medlens.medications.subargs import LABELS, SubArgumentTagger, mark_drug, training_examples  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "phee"


def load_split(split: str, data: Path = DATA):
    path = data / f"{'dev' if split == 'dev' else 'train'}.jsonl"
    if not path.is_file():
        raise SystemExit(f"PHEE data not found at {path}")
    sents = read_phee(path)
    if split == "dev":
        return sents
    rest, tune = tune_split(sents)
    return {"tune": tune, "train90": rest, "train": sents}[split]


def train(args) -> int:
    import torch
    from tokenizers import Tokenizer
    from transformers import BertForTokenClassification

    from medlens.training.onnx_optimize import recover_checkpoint

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    out = Path(args.output)
    init = out / "init"
    if not (init / "config.json").is_file():
        recover_checkpoint(args.init, init)  # the ADE tagger's weights, dequantized from int8
    tok = Tokenizer.from_file(str(init / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    examples = training_examples(load_split(args.train_split))
    data = [mark_drug(tok, t, d, args.max_length, subs) for t, d, subs in examples]
    print(f"{len(data)} passes ({sum(1 for *_, s in examples if s)} with a sub-argument)", flush=True)
    src_labels = json.loads((init / "labels.json").read_text())["labels"]
    model = BertForTokenClassification.from_pretrained(str(init), num_labels=len(LABELS), ignore_mismatched_sizes=True,
                                                       id2label=dict(enumerate(LABELS)),
                                                       label2id={lab: i for i, lab in enumerate(LABELS)})
    if all(lab in src_labels for lab in LABELS):  # start the head from the ADE tagger's rows of the same tags
        src = BertForTokenClassification.from_pretrained(str(init))
        rows = [src_labels.index(lab) for lab in LABELS]
        with torch.no_grad():
            model.classifier.weight.copy_(src.classifier.weight[rows])
            model.classifier.bias.copy_(src.classifier.bias[rows])
        del src
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(data) + args.batch_size - 1) // args.batch_size)
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, total = time.time(), 0.0
        order = sorted(range(len(data)), key=lambda i: (len(data[i][0]) // 8, random.random()))
        batches = [order[i:i + args.batch_size] for i in range(0, len(order), args.batch_size)]
        random.shuffle(batches)
        for b in batches:
            n = max(len(data[i][0]) for i in b)
            ids = torch.tensor([data[i][0] + [0] * (n - len(data[i][0])) for i in b])
            mask = torch.tensor([[1] * len(data[i][0]) + [0] * (n - len(data[i][0])) for i in b])
            labels = torch.tensor([data[i][2] + [-100] * (n - len(data[i][0])) for i in b])
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            total += loss.item()
        folder = out / f"ep{epoch}"
        model.save_pretrained(str(folder))
        (folder / "tokenizer.json").write_text((init / "tokenizer.json").read_text())
        (folder / "labels.json").write_text(json.dumps({"labels": list(LABELS), "max_length": args.max_length,
                                                        "stride": 0, "task": "token-classification",
                                                        "scheme": "BIO, every subword; drug marked by [unused0]/[unused1]",
                                                        "epoch": epoch}, indent=2))
        print(f"epoch {epoch}: loss {total / len(batches):.4f}, {time.time() - t0:.0f} s -> {folder}", flush=True)
    return 0


def modes(texts, shipped, cond) -> dict[str, list[set]]:
    def ov(x, y):
        return x[0] == y[0] and x[1] < y[2] and y[1] < x[2]

    return {
        "shipped": shipped,
        "cond": cond,
        "union": [set(tidy_spans(t, sorted(a | b, key=lambda x: (x[1], x[2], x[0])))) for t, a, b in zip(texts, shipped, cond)],
        "shipped-if-cond": [{x for x in a if any(ov(x, y) for y in b)} for a, b in zip(shipped, cond)],
        "cond-if-shipped": [{y for y in b if any(ov(x, y) for x in a)} for a, b in zip(shipped, cond)],
    }


def score(args) -> int:
    from benchmarks.phee_eval import predict

    sents = load_split(args.split)
    texts = [s.text for s in sents]
    t0 = time.perf_counter()
    first = predict(Path(args.ade), texts, args.threads)
    t1 = time.perf_counter()
    tagger = SubArgumentTagger.from_path(args.model, whole_words=not args.subwords)
    cond = tagger.predict_many([(t, sorted({(a, b) for lab, a, b in p if lab == "DRUG"})) for t, p in zip(texts, first)])
    t2 = time.perf_counter()
    shipped = [{x for x in p if x[0] in SUB_ARGUMENTS} for p in first]
    gold = [gold_arguments(s) for s in sents]
    print(f"PHEE {args.split} ({len(sents)} sentences); ADE tagger {t1 - t0:.1f} s, sub-argument tagger {t2 - t1:.1f} s "
          f"({sum(1 for p in first for x in p if x[0] == 'DRUG')} drug passes)")
    result = {}
    for name, preds in modes(texts, shipped, cond).items():
        sc = score_arguments(gold, preds)
        result[name] = {k: sc[k] for k in (*SUB_ARGUMENTS, "sub-arguments")}
        sub = sc["sub-arguments"]
        print(f"{name:<18}" + " ".join(f"{k} {sc[k]['f1']:5.1f}" for k in SUB_ARGUMENTS)
              + f" | sub-arguments {sub['f1']:5.1f} (P {sub['p']:.1f}, R {sub['r']:.1f})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the drug-conditioned tagger (torch)")
    t.add_argument("--output", required=True)
    t.add_argument("--init", default=str(ROOT / "medlens" / "assets" / "ade"), help="int8 model folder to start from")
    t.add_argument("--train-split", default="train90", choices=["train90", "train"])
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--lr", type=float, default=5e-5)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--max-length", type=int, default=160)
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("score", help="score the ADE tagger and the conditioned tagger on a split")
    s.add_argument("--model", required=True, help="exported folder of the conditioned tagger")
    s.add_argument("--ade", default=str(ROOT / "medlens" / "assets" / "ade"))
    s.add_argument("--split", default="tune", choices=["tune", "train90", "dev"])
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--json", default=None)
    s.add_argument("--subwords", action="store_true", help="keep spans that end inside a word (no snap_to_words)")
    args = ap.parse_args(argv)
    return train(args) if args.cmd == "train" else score(args)


if __name__ == "__main__":
    raise SystemExit(main())
