"""Hatch build hook: the sample incidents ``data/samples/INC-*`` go into the wheel as ``pmkit/samples/``.

So ``pip install 'pmkit[render]' && pmkit demo`` works without a checkout. ``force-include`` would
copy the folders as they are on disk, with whatever a run left in them (an old ``.pmkit-cache/``);
this adds their files one by one and leaves hidden ones out, as the loaders do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SampleIncidentsHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install finds data/samples in the checkout
        samples = Path(self.root) / "data" / "samples"
        for path in sorted(samples.glob("INC-*/**/*")):
            rel = path.relative_to(samples)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                build_data["force_include"][str(path)] = f"pmkit/samples/{rel.as_posix()}"
