import pytest

from sweeps.store.masking import MASK, mask


@pytest.mark.parametrize("text, masked", [
    pytest.param("postgresql+psycopg2://sweepuser:SECRETPW@127.0.0.1:55432/sw",
                 f"postgresql+psycopg2://sweepuser:{MASK}@127.0.0.1:55432/sw", id="psycopg2"),
    pytest.param("python -m sweeps run sqrt --storage mysql://u:SECRETPW@h/db --jobs 2",
                 f"python -m sweeps run sqrt --storage mysql://u:{MASK}@h/db --jobs 2", id="command"),
    pytest.param("cannot open storage 'postgresql://u:SECRET@PW@h:5/db': refused",
                 f"cannot open storage 'postgresql://u:{MASK}@h:5/db': refused", id="unencoded-at"),
    pytest.param("host=h password=SECRETPW dbname=x", f"host=h password={MASK} dbname=x", id="dsn"),
    pytest.param("postgresql://h/db?password=SECRETPW&x=1", f"postgresql://h/db?password={MASK}&x=1", id="query"),
])
def test_mask_hides_the_password_and_keeps_the_rest(text, masked):
    assert mask(text) == masked
    assert "SECRET" not in mask(text)


@pytest.mark.parametrize("text", ["sqlite:///sweeps.db", "postgresql://user@host/db", "results/sqrt/journal.log",
                                  "no url here: a@b"])
def test_mask_leaves_text_without_a_password_alone(text):
    assert mask(text) == text
