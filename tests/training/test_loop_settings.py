"""LoopSettings.of: the optimisation settings read from a task config by name, with overrides."""

from medlens.training.classify import ClassifyTrainConfig
from medlens.training.loop import LoopSettings
from medlens.training.ner import NerTrainConfig
from medlens.training.qa import QATrainConfig


def test_of_reads_every_shared_field_by_name():
    cfg = NerTrainConfig(train=[("x.tsv", None)], epochs=7, lr=3e-5, weight_decay=0.2, warmup=0.25, patience=3,
                         checkpoint_every=11, max_steps=99)
    s = LoopSettings.of(cfg)
    assert (s.epochs, s.lr, s.weight_decay, s.warmup, s.patience, s.checkpoint_every, s.max_steps) == (
        7, 3e-5, 0.2, 0.25, 3, 11, 99)
    assert s.group_lr is None


def test_overrides_win_and_missing_fields_keep_defaults():
    cfg = QATrainConfig(data="t.json", epochs=2, lr=1e-3)
    s = LoopSettings.of(cfg, patience=0, checkpoint_every=0)
    assert (s.epochs, s.lr, s.patience, s.checkpoint_every) == (2, 1e-3, 0, 0)
    assert s.max_steps is None  # QATrainConfig has no step budget: the loop's default
    s2 = LoopSettings.of(ClassifyTrainConfig(train="t.csv"), group_lr={"classifier.": 1e-3})
    assert s2.group_lr == {"classifier.": 1e-3}
