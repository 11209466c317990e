"""Per-meeting ground truth, built from the events the simulated page reports."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["GroundTruth"]


class GroundTruth:
    """What really happened in one run of a meeting. Times are epoch seconds from the page clock.

    ``speech`` start/end are when each segment's audio reached the audio output (not when it was
    scheduled); ``indicator_start``/``indicator_end`` are when the speaking signal was switched
    (Meet: speaking class; Teams: outline class or style; Zoom: the active-speaker frame was given
    to the speaker, ``indicator_end`` stays null because Zoom keeps the last speaker in the frame).
    ``audible`` is false for a segment that played while the bot had not joined Zoom computer audio
    (``audible_from`` is set if it joined in the middle of it); it is true on Meet and Teams.

    Zoom/Teams additions: ``platform``, ``client`` (zoom "react"/"classic", teams "v2"),
    ``in_iframe``, ``pages`` (each page/screen shown, in order), ``audio_joined_at`` (Zoom),
    ``passcode_entered``/``passcode_source``/``passcode_ok``, ``blocked_by`` (e.g. "signin",
    "bot_wall", "captcha", "login"), ``active_speaker`` (Zoom: ``[{name, t, reason}]`` each time the
    big frame changed hands).

    Variant additions:

    - ``variants``: the resolved variant choices of this run (``Scenario.variants()``: the common
      knobs ``stuck_indicator``, ``sync_marker``, ``dialogs`` and every knob of the platform's block,
      flat, and that block again under its name).
    - ``dialogs``: ``[{kind, index, shown_at, dismissed_at, button}]`` for each in-call dialog shown
      (``button`` is the text or aria-label of what dismissed it; ``dismissed_at`` stays null for a
      dialog still open when the call ended, or one the bot never closed). ``reason`` is
      "end_over_dialog" for the Zoom dialog opened just before the end.
    - ``sync_marker_rect``: ``{x, y, w, h, dpr, viewport: {w, h}, in_iframe, frame_offset, ramp_ms}`` of
      ``#sim-sync-marker`` in CSS px (``frame_offset``: where the frame sits in the top page when
      the client runs in ``iframe#webclient``); ``sync_flips``: ``[{t, on}]`` each time it turned
      white (``on``) or black, at the moment remote audio started or stopped reaching the output.
    - ``stuck``: ``[{name, on_at, off_at}]`` for ``stuck_indicator`` participants whose signal was
      switched on; ``off_at`` is when it finally went (they left, the call ended), else null. Their
      speech segments keep ``indicator_end: null``.
    - ``dropouts``: ``[{at, ms}]``, each hole cut in the remote audio (epoch time it reaches the output).
    - ``audio_join_mode`` (Zoom): "dialog", "late_dialog", "footer" or "auto"; with "auto"
      ``audio_joined_at`` is the admission time.
    """

    def __init__(self, meeting_code: str, platform: str = "meet",
                 variants: dict[str, Any] | None = None) -> None:
        self.meeting_code = meeting_code
        variants = copy.deepcopy(variants or {})
        self._data: dict[str, Any] = {
            "meeting_code": meeting_code,
            "platform": platform,
            "variants": variants,
            "client": None,
            "in_iframe": None,
            "pages": [],
            "joined_name": None,
            "mic_on_at_join": None,
            "camera_on_at_join": None,
            "camera_mean_rgb": None,
            "join_clicked_at": None,
            "admitted_at": None,
            "denied_at": None,
            "no_response_at": None,
            "ended_at": None,
            "end_kind": None,
            "everyone_left_at": None,
            "left_at": None,
            "audio_joined_at": None,
            "passcode_entered": None,
            "passcode_source": None,
            "passcode_ok": None,
            "blocked_by": None,
            "active_speaker": [],
            "audio_join_mode": variants.get("audio_join") if platform == "zoom" else None,
            "dialogs": [],
            "sync_marker_rect": None,
            "sync_flips": [],
            "stuck": [],
            "dropouts": [],
            "captions_on_at": None,
            "captions_refused": False,
            "captions_language": None,
            "captions": [],
            "chat": [],
            "chat_refused": [],
            "chat_max_chars": None,
            "chat_panel": [],
            "speech": [],
            "participants": [],
            "events": [],
        }
        self._speech_by_index: dict[int, dict[str, Any]] = {}

    def apply(self, event: dict[str, Any]) -> None:
        d = self._data
        d["events"].append(event)
        kind, t = event.get("type"), event.get("t")
        if kind == "join_clicked":
            d.update(joined_name=event.get("name"), mic_on_at_join=event.get("mic_on"),
                     camera_on_at_join=event.get("camera_on"),
                     camera_mean_rgb=event.get("camera_mean_rgb"), join_clicked_at=t)
        elif kind == "admitted":
            d["admitted_at"] = t
        elif kind == "captions_toggled":
            if event.get("on") and d["captions_on_at"] is None:
                d["captions_on_at"] = t
        elif kind == "captions_refused":
            d["captions_refused"] = True
        elif kind == "captions_language":
            d["captions_language"] = event.get("value")
        elif kind == "chat_posted":
            d["chat"].append({"sender": event.get("sender"), "text": event.get("text"),
                              "self": bool(event.get("self")), "id": event.get("id"), "t": t})
        elif kind == "chat_refused":
            d["chat_refused"].append({"reason": event.get("reason"), "chars": event.get("chars"), "t": t})
        elif kind == "chat_ready":
            d["chat_max_chars"] = event.get("max_chars")
        elif kind == "chat_panel":
            d["chat_panel"].append({"open": bool(event.get("open")), "t": t})
        elif kind == "caption_final":
            d["captions"].append({"index": event.get("index"), "speaker": event.get("speaker"),
                                  "text": event.get("text"), "final_at": t,
                                  "scrolled": bool(event.get("scrolled"))})
        elif kind == "denied":
            d["denied_at"] = t
        elif kind == "no_response":
            d["no_response_at"] = t
        elif kind == "ended":
            d.update(ended_at=t, end_kind=event.get("kind"))
        elif kind == "everyone_left":
            d.update(everyone_left_at=t, end_kind="everyone_left")
        elif kind == "left":
            if d["left_at"] is None:
                d["left_at"] = t
        elif kind == "page_loaded":
            d["pages"].append(event.get("page"))
            if event.get("client") is not None:
                d["client"] = event.get("client")
            if event.get("in_iframe") is not None:
                d["in_iframe"] = event.get("in_iframe")
        elif kind == "passcode_submitted":
            d.update(passcode_entered=event.get("passcode"), passcode_source=event.get("source"),
                     passcode_ok=event.get("ok"))
        elif kind == "blocked":
            d["blocked_by"] = event.get("by")
        elif kind == "audio_joined":
            if d["audio_joined_at"] is None:
                d["audio_joined_at"] = t
                for seg in d["speech"]:
                    if seg["end"] is None and not seg["audible"]:
                        seg["audible_from"] = t
        elif kind == "active_speaker":
            d["active_speaker"].append({"name": event.get("name"), "t": t, "reason": event.get("reason")})
        elif kind == "speech_start":
            seg = {"speaker": event.get("speaker"), "start": t, "end": None, "text": event.get("text"),
                   "indicator_start": event.get("indicator_t"), "indicator_end": None,
                   "audible": event.get("audible", True), "audible_from": None,
                   "transit_ms": event.get("transit_ms")}
            self._speech_by_index[int(event.get("index", -1))] = seg
            d["speech"].append(seg)
        elif kind == "speech_end":
            seg = self._speech_by_index.get(int(event.get("index", -1)))
            if seg is not None:
                seg.update(end=t, indicator_end=event.get("indicator_t"))
        elif kind == "indicator":  # a lagging signal switched after the voice's edge
            seg = self._speech_by_index.get(int(event.get("index", -1)))
            if seg is not None:
                seg["indicator_start" if event.get("on") else "indicator_end"] = t
        elif kind == "dialog_shown":
            d["dialogs"].append({"kind": event.get("kind"), "index": event.get("index"), "shown_at": t,
                                 "dismissed_at": None, "button": None, "reason": event.get("reason")})
        elif kind == "dialog_dismissed":
            for dlg in d["dialogs"]:
                if dlg["index"] == event.get("index") and dlg["dismissed_at"] is None:
                    dlg.update(dismissed_at=t, button=event.get("button"))
                    break
        elif kind == "sync_marker":
            d["sync_marker_rect"] = {k: event.get(k) for k in (
                "x", "y", "w", "h", "dpr", "viewport", "in_iframe", "frame_offset", "ramp_ms")}
        elif kind == "sync_flip":
            d["sync_flips"].append({"t": t, "on": bool(event.get("on"))})
        elif kind == "dropout":
            d["dropouts"].append({"at": t, "ms": event.get("ms")})
        elif kind == "stuck_on":
            d["stuck"].append({"name": event.get("name"), "on_at": t, "off_at": None})
        elif kind == "stuck_off":
            for st in reversed(d["stuck"]):
                if st["name"] == event.get("name") and st["off_at"] is None:
                    st["off_at"] = t
                    break
        elif kind == "participant_joined":
            d["participants"].append({"name": event.get("name"), "joined_at": t, "left_at": None})
        elif kind == "participant_left":
            for p in reversed(d["participants"]):
                if p["name"] == event.get("name") and p["left_at"] is None:
                    p["left_at"] = t
                    break

    @property
    def events(self) -> list[dict[str, Any]]:
        return self._data["events"]

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)
