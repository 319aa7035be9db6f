"""What every tenant starts with: three verification levels and a first appropriateness
questionnaire. Compliance staff change the levels and publish new questionnaire versions."""

from decimal import Decimal

LEVELS = [
    (0, "Registered", [], None, False, False),
    (1, "Basic", ["profile", "questionnaire", "identity"], Decimal("5000.00"), True, False),
    (2, "Verified", ["profile", "questionnaire", "identity", "address", "approval"], None, True, True),
]


def choice(code, text, points):
    return {"code": code, "text": text, "points": points}


QUESTIONS = [
    {
        "code": "experience",
        "text": "How often have you traded CFDs, forex or other leveraged products in the last three years?",
        "choices": [
            choice("never", "Never", 0),
            choice("rarely", "A few times", 1),
            choice("monthly", "About once a month", 2),
            choice("weekly", "Weekly or more often", 3),
        ],
    },
    {
        "code": "leverage",
        "text": "With leverage of 1:30, a 1% price move against your position changes your margin by about:",
        "choices": [
            choice("1", "1%", 0),
            choice("3", "3%", 0),
            choice("30", "30%", 3),
            choice("unknown", "I don't know", 0),
        ],
    },
    {
        "code": "stop_out",
        "text": "What happens when your margin level falls below the stop-out level?",
        "choices": [
            choice("nothing", "Nothing until I close my positions", 0),
            choice("closed", "Positions are closed automatically, starting with the largest loss", 3),
            choice("deposit", "The broker deposits money for me", 0),
            choice("unknown", "I don't know", 0),
        ],
    },
    {
        "code": "loss",
        "text": "Can you lose more than you deposited on a CFD account with negative balance protection?",
        "choices": [
            choice("yes", "Yes", 0),
            choice("no", "No, the balance is not allowed to stay below zero", 3),
            choice("unknown", "I don't know", 0),
        ],
    },
    {
        "code": "education",
        "text": "Do you have education or work experience in finance?",
        "choices": [
            choice("none", "No", 0),
            choice("course", "A trading course or certificate", 1),
            choice("degree", "A degree in finance or economics", 2),
            choice("work", "I have worked in the financial industry", 3),
        ],
    },
    {
        "code": "purpose",
        "text": "What is your main purpose in trading CFDs?",
        "choices": [
            choice("speculation", "Speculation", 1),
            choice("hedging", "Hedging other investments", 2),
            choice("income", "Steady income", 0),
        ],
    },
]

WARNING = (
    "Based on your answers, CFDs may not be appropriate for you. CFDs are complex instruments and come "
    "with a high risk of losing money rapidly due to leverage. You should consider whether you understand "
    "how CFDs work and whether you can afford to take the high risk of losing your money."
)


def kyc_defaults_ensure(level_model=None, questionnaire_model=None) -> None:
    """Create the default levels and questionnaire where missing (the migration passes its historical
    models; tests call it after emptying a schema)."""
    if level_model is None:
        from kyc.models import Questionnaire, VerificationLevel

        level_model, questionnaire_model = VerificationLevel, Questionnaire
    for number, name, requirements, limit, deposits, withdrawals in LEVELS:
        level_model.objects.get_or_create(
            number=number,
            defaults={
                "name": name,
                "requirements": requirements,
                "deposit_limit": limit,
                "limit_currency": "USD",
                "allows_deposits": deposits,
                "allows_withdrawals": withdrawals,
            },
        )
    questionnaire_model.objects.get_or_create(
        jurisdiction="",
        version=1,
        defaults={
            "title": "Appropriateness test for CFDs",
            "questions": QUESTIONS,
            "pass_score": 9,
            "warning_text": WARNING,
        },
    )
