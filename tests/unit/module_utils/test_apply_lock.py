"""Unit tests of the apply lock's pooler refusal."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.apply_lock import refuse_transaction_pooler
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_pooler_refused():
    settings = ConnectionSettings.from_url("postgresql://postgres.ref:pw@aws-0.pooler.supabase.com:6543/postgres")
    with pytest.raises(InvalidInput) as err:
        refuse_transaction_pooler(settings)
    assert "6543" in str(err.value) and "session pooler" in str(err.value)
    refuse_transaction_pooler(ConnectionSettings.from_url("postgresql://postgres:pw@db.ref.supabase.co:5432/postgres"))
