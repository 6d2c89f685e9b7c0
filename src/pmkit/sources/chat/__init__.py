"""Chat loaders, one file per format (kind ``chat``; every row is a ``chat`` event):

- ``slack`` (:mod:`.slack`): a Slack export folder or ``.zip`` (channels.json, users.json,
  ``<channel>/<date>.json`` day files) -> one event per message, threads rebuilt across day files.
- ``transcript`` (:mod:`.transcript`): plain transcript lines (``[14:25] alice: text``,
  ``14:25 <alice> text``) -> one event per message, continuation lines joined.

What they share lives in :mod:`pmkit.sources.chatcore`; the Slack export reader (and
:func:`~pmkit.sources.slackexport.read_slack_directory`) in :mod:`pmkit.sources.slackexport`.
"""
