//! Payments (回款). The module's pages land with the contracts issue; what exists today is its
//! approval subject, so admins can shape the payment flow and managers hold `approve` on
//! payments. Nothing submits one yet; the engine tests do, with a payload `amount`.

use crate::access::Module;
use crate::registry::Registry;
use crate::workflow::{Subject, SubjectDef};

/// Approving a payment (payload: amount).
pub struct PaymentApproval;

pub static SUBJECT: PaymentApproval = PaymentApproval;

impl SubjectDef for PaymentApproval {
    fn code(&self) -> &'static str {
        "payment"
    }

    fn entity(&self) -> &'static str {
        "payment"
    }

    fn module(&self) -> Module {
        Module::Payments
    }

    fn label_key(&self) -> &'static str {
        "approval.subject.payment"
    }
}

pub fn subject() -> Subject {
    Subject(&SUBJECT)
}

pub fn register(r: &mut Registry) {
    r.subject(&SUBJECT);
}
