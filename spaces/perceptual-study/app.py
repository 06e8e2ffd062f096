"""Perceptual study: a Hugging Face Space where participants judge real against generated images.

Set in the Space's settings: STUDY_REAL_FOLDER (a folder of real images in the Space), and optionally
STUDY_MODEL (default sngan-lesions), STUDY_IMAGES (20), STUDY_SECONDS (3), STUDY_DB (default
/data/study.sqlite on persistent storage, else study.sqlite) and STUDY_RESULTS_KEY (a passphrase
for the Results tab).
"""

import os
from pathlib import Path

from zoo.web.study import StudyConfig, StudyStore, build_study_app

db = os.environ.get("STUDY_DB") or ("/data/study.sqlite" if Path("/data").is_dir() else "study.sqlite")
store = StudyStore(db)
if store.config() is None:
    store.configure(StudyConfig(model=os.environ.get("STUDY_MODEL", "sngan-lesions"),
                                real_folder=os.environ.get("STUDY_REAL_FOLDER", "real"),
                                images_per_participant=int(os.environ.get("STUDY_IMAGES", "20")),
                                seconds=float(os.environ.get("STUDY_SECONDS", "3"))))
demo = build_study_app(store, results_key=os.environ.get("STUDY_RESULTS_KEY"))

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=4).launch()
