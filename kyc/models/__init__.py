from kyc.models.documents import Document, DocumentCheck
from kyc.models.levels import KycSettings, VerificationLevel
from kyc.models.profiles import FinancialProfile
from kyc.models.questionnaires import Questionnaire, QuestionnaireAnswer
from kyc.models.reviews import DocumentRequest, Review
from kyc.models.risk import RiskAssessment
from kyc.models.screening import RescreenJob, ScreeningHit, ScreeningRun
from kyc.models.vendors import VendorEvent

__all__ = [
    "Document",
    "DocumentCheck",
    "DocumentRequest",
    "FinancialProfile",
    "KycSettings",
    "Questionnaire",
    "QuestionnaireAnswer",
    "RescreenJob",
    "Review",
    "RiskAssessment",
    "ScreeningHit",
    "ScreeningRun",
    "VendorEvent",
    "VerificationLevel",
]
