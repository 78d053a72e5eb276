"""The data model, one module per aggregate; MODELS lists them in creation order."""
from intranet.models.people import ROLES, Citizen, CitizenChange, Department, Governorate, Staff, utcnow
from intranet.models.inquiries import InquirySubject
from intranet.models.requests import (
    AT_RISK_DAYS, CHANNELS, CLOSED_STATUSES, OPEN_SLA_STATES, OPEN_STATUSES, STATUSES, Attachment, HistoryEntry, Request,
    RequestType, RequestTypeVersion, Sla, Stage, TrackingSequence, sla_at,
)

from intranet.models.notifications import MessageTemplate, Notification, NotificationAttempt  # noqa: E402
from intranet.models.tickets import VisitorTicket  # noqa: E402
from intranet.models.intake import ApiClient, ImportBatch, InboxEntry, WebhookAttempt, WebhookDelivery  # noqa: E402
from intranet.models.payouts import (  # noqa: E402
    AuditEntry, BankLayout, BankReturn, BatchItem, ExportDownload, ExportFile, IbanChange, Payout, PayoutApproval, PayoutBatch,
    PayoutParty,
)
from intranet.models.stats import (  # noqa: E402
    AnswerCount, CountedDay, DailyCount, OpenSnapshot, OpenWork, ReportFile, ReportRequest,
)
from intranet.models.sessions import SecurityEvent, StaffSession  # noqa: E402
from intranet.models.mfa import RecoveryCode, StaffFactor  # noqa: E402
from intranet.models.letters import LetterReply, LetterSequence, MinistryLetter  # noqa: E402
from intranet.models.automation import (  # noqa: E402
    AutoCeiling, AutoDecision, AutoException, AutoPause, AutoRule, RegistryRecord,
)
from intranet.models.renewals import Benefit, Renewal  # noqa: E402
from intranet.models.bookings import Booking, BookingService, ReceptionDesk, ReceptionOverride  # noqa: E402
from intranet.models.cards import BeneficiaryCard, CardEvent  # noqa: E402
from intranet.models.admin import AdminChange  # noqa: E402
from intranet.models.delegations import Delegation  # noqa: E402
from intranet.models.calendar import CalendarYear, Holiday  # noqa: E402
from intranet.models.staff_admin import Absence, DirectorySync  # noqa: E402

MODELS = [Department, Governorate, Citizen, Staff, RequestType, Stage, RequestTypeVersion, TrackingSequence, InquirySubject, Request,
          HistoryEntry, Attachment, Notification, VisitorTicket, CitizenChange,
          ApiClient, InboxEntry, WebhookDelivery, WebhookAttempt, ImportBatch, NotificationAttempt, MessageTemplate,
          Payout, PayoutParty, PayoutApproval, IbanChange, AuditEntry, PayoutBatch, BatchItem, ExportFile,
          ExportDownload, BankReturn, BankLayout, DailyCount, OpenSnapshot, CountedDay, AnswerCount, OpenWork, ReportFile, StaffSession, SecurityEvent,
          StaffFactor, RecoveryCode, ReportRequest, LetterSequence, MinistryLetter, LetterReply,
          RegistryRecord, AutoRule, AutoDecision, AutoException, AutoPause, AutoCeiling, Benefit, Renewal,
          BookingService, ReceptionDesk, Booking, ReceptionOverride,
          BeneficiaryCard, CardEvent,
          AdminChange, CalendarYear, Holiday, DirectorySync, Absence,
          Delegation]

__all__ = [
    "ROLES", "CHANNELS", "OPEN_STATUSES", "CLOSED_STATUSES", "STATUSES", "MODELS", "utcnow",
    "Citizen", "CitizenChange", "Department", "Governorate", "InquirySubject", "Staff", "RequestType", "RequestTypeVersion", "Stage", "TrackingSequence",
    "Request", "HistoryEntry", "Attachment", "Notification", "VisitorTicket",
    "NotificationAttempt", "MessageTemplate", "Payout", "PayoutParty", "PayoutApproval", "IbanChange",
    "AuditEntry", "PayoutBatch", "BatchItem", "ExportFile", "ExportDownload", "BankReturn", "BankLayout", "ApiClient",
    "InboxEntry", "WebhookDelivery", "WebhookAttempt", "ImportBatch", "DailyCount", "OpenSnapshot", "CountedDay", "OpenWork",
    "ReportFile", "StaffSession", "SecurityEvent", "StaffFactor", "RecoveryCode", "ReportRequest",
    "LetterSequence", "MinistryLetter", "LetterReply",
    "RegistryRecord", "AutoRule", "AutoDecision", "AutoException", "AutoPause", "AutoCeiling", "Benefit", "Renewal", "BookingService", "ReceptionDesk", "Booking", "ReceptionOverride",
    "BeneficiaryCard", "CardEvent",
    "AdminChange", "CalendarYear", "Holiday", "DirectorySync", "Absence",
    "Delegation",
]
