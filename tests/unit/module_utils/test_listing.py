"""Lists and texts shortened for one-line messages."""
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief, clip


def test_brief_names_the_first_items_and_counts_the_rest():
    assert brief(["a", "b", "c"]) == "a, b, c"
    assert brief(["a", "b", "c", "d"], 2) == "a, b (+2 more)"
    assert brief((str(n) for n in range(7)), 3, sep="; ") == "0; 1; 2 (+4 more)"
    assert brief([]) == ""


def test_clip_folds_white_space_and_marks_the_cut():
    assert clip("select  1\n from   t", 40) == "select 1 from t"
    assert clip("x" * 50, 10) == "xxxxxxx..."
    assert clip(None, 5) == ""
