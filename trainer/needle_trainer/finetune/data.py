"""The data side of ``needle-router finetune``: one import for the training loop and the CLI.

* :func:`synthesize`: examples for exactly the user's tools (:mod:`.synth`);
* :func:`load_user_examples`: the user's own JSONL, checked line by line (:mod:`.user_data`);
* :func:`split_per_tool`, :func:`write_splits`, :func:`read_split`: stratified splits and their
  files (:mod:`.splits`).
"""

from needle_trainer.finetune.splits import SPLITS, read_split, split_per_tool, write_splits
from needle_trainer.finetune.synth import confusable_pairs, synthesize
from needle_trainer.finetune.user_data import load_user_examples

__all__ = ["SPLITS", "confusable_pairs", "load_user_examples", "read_split", "split_per_tool", "synthesize",
           "write_splits"]
