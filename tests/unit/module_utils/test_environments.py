"""One list of environments for every module and role."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.environments import (ENVIRONMENTS, environment_option,
                                                                                    validate_environment)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_the_three_environments():
    assert ENVIRONMENTS == ("local", "staging", "production")
    assert environment_option() == {"type": "str", "choices": ["local", "staging", "production"], "required": True}
    assert environment_option(required=False, default="local")["default"] == "local"


def test_a_typo_is_refused_not_taken_for_staging():
    assert validate_environment("production") == "production"
    with pytest.raises(InvalidInput, match="^environment must be one of local, staging, production, not 'prod'$"):
        validate_environment("prod")
