"""Moments as the services and our own tags write them (ISO 8601), read back as aware UTC times.

One reader for Key Vault tags (``scripts.storage``) and Partner Center's reports
(``scripts.adapters.partner_center_reports``): both may write ``Z`` for UTC, which Python 3.11's
``fromisoformat`` reads, and Partner Center writes its report times with no offset at all
(``2020-04-21T22:09:53.051``), meaning UTC.
"""

from __future__ import annotations

import datetime as dt


def utc_moment(text: str) -> dt.datetime | None:
    """``text`` as an aware time (UTC when it names no offset), or None when it is no date."""
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
