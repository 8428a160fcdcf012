import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from gridkam.customers.validators import CREDIT_CODE_CHARSET, credit_code_check_char, validate_credit_code

# Published codes of real enterprises (from their business licences).
REAL_CODES = ["91350100M000100Y43", "91110000600037341L", "9144030071526726XG"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_credit_codes_pass(code):
    validate_credit_code(code)


def test_lower_case_is_accepted_as_the_same_code():
    validate_credit_code(REAL_CODES[0].lower())


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350100M000100Y4", "18"),
        ("91350100M000100Y44", "should be 3"),
        ("91350100M000100I43", "I"),
        ("9135A100M000100Y43", "administrative division"),
    ],
)
def test_bad_credit_codes_are_explained(code, fragment):
    with translation.override("en"), pytest.raises(ValidationError) as err:
        validate_credit_code(code)
    assert fragment in " ".join(err.value.messages)


body = st.text(alphabet=CREDIT_CODE_CHARSET, min_size=2, max_size=2).flatmap(
    lambda head: st.text(alphabet="0123456789", min_size=6, max_size=6).flatmap(
        lambda division: st.text(alphabet=CREDIT_CODE_CHARSET, min_size=9, max_size=9).map(
            lambda org: head + division + org
        )
    )
)


@given(body)
def test_any_body_with_its_check_char_validates(code17):
    validate_credit_code(code17 + credit_code_check_char(code17))


@given(body, st.sampled_from(CREDIT_CODE_CHARSET))
def test_any_other_check_char_is_rejected(code17, char):
    if char == credit_code_check_char(code17):
        return
    with pytest.raises(ValidationError):
        validate_credit_code(code17 + char)


@given(body, st.integers(min_value=0, max_value=16), st.sampled_from(CREDIT_CODE_CHARSET))
def test_a_single_changed_character_is_caught(code17, position, char):
    # GB 32100's weights are coprime with 31, so any one substitution changes the check character.
    if code17[position] == char:
        return
    full = code17 + credit_code_check_char(code17)
    changed = full[:position] + char + full[position + 1 :]
    if not changed[2:8].isdigit():
        return
    with pytest.raises(ValidationError):
        validate_credit_code(changed)
