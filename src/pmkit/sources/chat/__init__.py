"""Chat loaders, one file per format (kind ``chat``; every row is a ``chat`` event):

- ``slack`` (:mod:`.slack`): a Slack export folder or ``.zip`` (channels.json, users.json,
  ``<channel>/<date>.json`` day files) -> one event per message, threads rebuilt across day files;
  or one channel file outside the export layout (slackdump's ``channel.json``, a
  ``conversations.replies`` thread, a JSON list of messages).
- ``slack-paste`` (:mod:`.slack_paste`): text copied from the Slack desktop app (``Name  2:25 PM``
  headers, text lines, date lines), the transcript variant whose day comes from ``options.date`` /
  ``options.today`` or the incident window.
- ``transcript`` (:mod:`.transcript`): plain transcript lines (``[14:25] alice: text``,
  ``14:25 <alice> text``) -> one event per message, continuation lines joined.

What they share lives in :mod:`pmkit.sources.chatcore`; the Slack export reader (and
:func:`~pmkit.sources.slackexport.read_slack_directory`) in :mod:`pmkit.sources.slackexport`.
"""
