"""Public join URLs for simulated meetings, and the reverse mapping the pages use.

Forms (``join_url(scenario, form)``):

- Meet: ``"meet"`` (default) ``https://meet.google.com/<code>``.
- Zoom (``meeting_code`` is the meeting ID):
  ``"j"`` (default) ``https://zoom.us/j/<id>?pwd=<passcode>`` (the launcher; ``host=`` picks e.g.
  ``us05web.zoom.us``), ``"wc"`` ``https://app.zoom.us/wc/<id>/join?pwd=`` (React client),
  ``"wc_classic"`` ``https://app.zoom.us/wc/join/<id>?pwd=`` (classic client),
  ``"my"`` ``https://zoom.us/my/<vanity>`` (personal link; needs ``zoom.vanity``).
  ``pwd=`` is left out when the scenario has no passcode; ``passcode=`` overrides it (e.g. a wrong one).
- Teams (the meeting is ``19:meeting_<code>@thread.v2``, message id ``0``):
  ``"meetup_join"`` (default) ``https://<host>/l/meetup-join/19%3ameeting_<code>%40thread.v2/0?context=...``,
  ``"v2"`` ``https://<host>/v2/?meetingjoin=true#/l/meetup-join/...&anon=true`` (meeting in the fragment),
  ``"launcher"`` ``https://<host>/dl/launcher/launcher.html?url=%2F_%23%2Fl%2Fmeetup-join%2F...``,
  ``"meet"`` ``https://<host>/meet/<code>?p=<passcode>``. ``<host>`` is ``teams.host`` unless ``host=``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Protocol
from urllib.parse import quote


class _Meeting(Protocol):
    """What a join URL is made from (a ``simulator.scenario.Scenario``)."""

    platform: str
    meeting_code: str
    zoom: Any
    teams: Any

__all__ = ["FORMS", "ROUTED_HOSTS", "join_url", "teams_context", "teams_thread"]

# Every public host a join on any platform touches; route them all to the simulator.
ROUTED_HOSTS = ("meet.google.com", "zoom.us", "*.zoom.us", "teams.microsoft.com", "teams.live.com",
                "login.microsoftonline.com")

FORMS = {
    "meet": ("meet",),
    "zoom": ("j", "wc", "wc_classic", "my"),
    "teams": ("meetup_join", "v2", "launcher", "meet"),
}


def _guid(seed: str) -> str:
    return str(uuid.UUID(hashlib.sha256(seed.encode()).hexdigest()[:32]))


def teams_thread(code: str) -> str:
    return f"19:meeting_{code}@thread.v2"


def teams_context(code: str) -> str:
    return json.dumps({"Tid": _guid("tenant|" + code), "Oid": _guid("organizer|" + code)},
                      separators=(",", ":"))


def join_url(scenario: _Meeting, form: str | None = None, *, host: str | None = None,
             passcode: str | None = None) -> str:
    """The URL a bot would be given for this scenario, in one of ``FORMS[scenario.platform]``."""
    forms = FORMS[scenario.platform]
    form = form or forms[0]
    if form not in forms:
        raise ValueError(f"{scenario.platform} join URL forms are {forms}, not {form!r}")
    code = scenario.meeting_code
    if scenario.platform == "meet":
        return f"https://{host or 'meet.google.com'}/{code}"
    if scenario.platform == "zoom":
        assert scenario.zoom is not None
        pwd = passcode if passcode is not None else scenario.zoom.passcode
        query = f"?pwd={quote(pwd, safe='')}" if pwd else ""
        if form == "j":
            return f"https://{host or 'zoom.us'}/j/{code}{query}"
        if form == "wc":
            return f"https://{host or 'app.zoom.us'}/wc/{code}/join{query}"
        if form == "wc_classic":
            return f"https://{host or 'app.zoom.us'}/wc/join/{code}{query}"
        if not scenario.zoom.vanity:
            raise ValueError("the 'my' form needs zoom.vanity")
        return f"https://{host or 'zoom.us'}/my/{scenario.zoom.vanity}"
    assert scenario.teams is not None
    origin = f"https://{host or scenario.teams.host}"
    pwd = passcode if passcode is not None else scenario.teams.passcode
    if form == "meet":
        return f"{origin}/meet/{code}" + (f"?p={quote(pwd, safe='')}" if pwd else "")
    # Teams writes the escapes of its thread ids in lower case: 19%3ameeting_...%40thread.v2
    thread = quote(teams_thread(code), safe="").replace("%3A", "%3a")
    context = quote(teams_context(code), safe="")
    deep = f"/l/meetup-join/{thread}/0?context={context}"
    if form == "meetup_join":
        return origin + deep
    if form == "v2":
        return f"{origin}/v2/?meetingjoin=true#{deep}&anon=true"
    return (f"{origin}/dl/launcher/launcher.html?url={quote('/_#' + deep, safe='')}"
            "&type=meetup-join&directDl=true&msLaunch=true&enableMobilePage=true&suppressPrompt=true")
