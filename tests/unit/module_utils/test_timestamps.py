"""The clock formats and the one timestamp parser."""
import datetime

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import (iso, iso_precise, parse_timestamp,
                                                                                  parse_unix, stamp)


@pytest.mark.parametrize("text,expected", [
    ("2025-10-19T03:00:00Z", 1760842800.0),
    ("2025-10-19T05:00:00+02:00", 1760842800.0),
    ("2025-10-19 03:00:00", 1760842800.0),
    ("2025-10-19T03:00:00.250Z", 1760842800.25),
    ("2025-10-19T03:00Z", 1760842800.0),
    ("1760842800", 1760842800.0),
])
def test_parse_timestamp(text, expected):
    assert parse_unix(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01T00:00:00Z", "", "2025-10-19T25:00:00Z"])
def test_parse_timestamp_rejects(text):
    with pytest.raises(InvalidInput):
        parse_unix(text)


def test_parse_timestamp_names_what_it_reads_and_takes_unix_seconds_only_when_allowed():
    moment = parse_timestamp("2025-10-19T05:00:00+0200", name="supabase_approval_at")
    assert moment == datetime.datetime(2025, 10, 19, 3, 0, tzinfo=datetime.timezone.utc)
    with pytest.raises(InvalidInput, match="^supabase_approval_at '1760842800' is not an ISO 8601 timestamp"):
        parse_timestamp("1760842800", name="supabase_approval_at")
    assert parse_timestamp("1760842800", allow_unix=True) == moment
    with pytest.raises(InvalidInput, match="^now is empty"):
        parse_timestamp(" ", name="now")


def test_formats():
    moment = datetime.datetime(2025, 10, 19, 4, 46, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert stamp(moment) == "20251019T024600Z" and iso(moment) == "2025-10-19T02:46:00Z"


def test_iso_precise():
    assert iso_precise(datetime.datetime(2025, 10, 19, 2, 0, tzinfo=datetime.timezone.utc)) == "2025-10-19T02:00:00.000000Z"


def test_iso_precise_converts_server_times_to_utc():
    cest = datetime.timezone(datetime.timedelta(hours=2))
    assert iso_precise(datetime.datetime(2025, 10, 19, 4, 0, tzinfo=cest)) == "2025-10-19T02:00:00.000000Z"
