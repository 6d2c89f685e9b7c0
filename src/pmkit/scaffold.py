"""``pmkit new``: a fresh incident folder with a commented ``incident.yaml``."""

from __future__ import annotations

import re
from pathlib import Path

from pmkit.errors import PmkitError

FOLDERS = ("logs", "metrics", "deploys", "chat", "alerts")

TEMPLATE = """\
# incident.yaml: the spec of this incident folder. Reference: docs/incident-yaml.md
# Times are UTC (write 2025-06-15T14:23:00Z). Anything you set under milestones or
# severity wins over what pmkit infers from the evidence.
id: {id}
title: ""                     # one line: what users saw, e.g. "Payment processing failures"
services: []                  # e.g. [payments-api]
# severity: SEV2              # declared severity (SEV1-SEV4 or P0-P3)
# status: resolved
# window:                     # the analysis window (also anchors year-less syslog times)
#   start: 2025-06-15T13:30:00Z
#   end: 2025-06-15T16:30:00Z
roles: {{}}                     # e.g. {{incident_commander: "@jane-doe"}}

# Evidence, one entry per file, glob or folder (paths relative to this folder).
# `pmkit formats` lists every kind/format with an example line.
sources: []
#  - name: nginx
#    kind: logs
#    format: combined
#    path: logs/access.log*
#    service: payments-api
#  - name: app
#    kind: logs
#    format: jsonl
#    path: logs/app.jsonl
#    timezone: Europe/Berlin   # only for naive timestamps
#  - name: requests
#    kind: metrics
#    format: prometheus
#    path: metrics/
#  - name: deploys
#    kind: deploys
#    format: github-deployments
#    path: deploys/deployments.json
#  - name: slack
#    kind: chat
#    format: slack
#    path: chat/
#  - name: alertmanager
#    kind: alerts
#    format: alertmanager
#    path: alerts/alertmanager/

slos: []
#  - name: availability
#    objective: 99.9           # percent
#    period: 30d
#    type: request             # request (good/total) or time-slice (bad minutes)
#    source: nginx
#    good: "status < 500"

milestones: {{}}                # overrides, e.g. {{impact_start: 2025-06-15T14:18:00Z}}

narrative: {{}}                 # summary, leadup, root_cause, detection, response, recovery, went_well: [...], ...
authors: []                   # who wrote the postmortem, e.g. ["@jane-doe"]
# date: 2025-06-16            # the day it was written (published: the day it was circulated)
tags: []                      # e.g. [payments, database]
# display_timezone: Europe/Berlin   # times stay UTC and also read in this zone: "14:19 UTC (16:19 CEST)"
five_whys: []                 # - why: "Why did payments fail?"\\n    answer: "..."
action_items: []              # - action: "..."\\n    owner: "@team"\\n    due: 2025-06-22\\n    priority: P1
"""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_new(incident_id: str, parent: str | Path = ".") -> Path:
    """The new incident's folder ``parent/incident_id``; an error when the id is not a name or it exists."""
    if not _ID.match(incident_id):
        raise PmkitError(f"incident id {incident_id!r} must be letters, digits, '.', '_' or '-' (e.g. INC-2025-0142)")
    root = Path(parent) / incident_id
    if (root / "incident.yaml").exists():
        raise PmkitError(f"{root / 'incident.yaml'} already exists; choose another id or --dir")
    return root


def new_incident(incident_id: str, parent: str | Path = ".") -> Path:
    """Create ``parent/incident_id/`` with ``incident.yaml`` and one folder per kind of evidence."""
    root = check_new(incident_id, parent)
    root.mkdir(parents=True, exist_ok=True)
    for name in FOLDERS:
        (root / name).mkdir(exist_ok=True)
    (root / "incident.yaml").write_text(TEMPLATE.format(id=incident_id), encoding="utf-8")
    return root
