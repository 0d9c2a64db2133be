//! Contracts (合同/订单). The module's pages land with their own issue; what exists today is its
//! approval subject, so admins can shape the contract flow and managers hold `approve` on
//! contracts. Nothing submits one yet; the engine tests do, with a payload `amount`.

use crate::access::Module;
use crate::registry::Registry;
use crate::workflow::{Subject, SubjectDef};

/// Approving a contract (payload: amount).
pub struct ContractApproval;

pub static SUBJECT: ContractApproval = ContractApproval;

impl SubjectDef for ContractApproval {
    fn code(&self) -> &'static str {
        "contract"
    }

    fn entity(&self) -> &'static str {
        "contract"
    }

    fn module(&self) -> Module {
        Module::Contracts
    }

    fn label_key(&self) -> &'static str {
        "approval.subject.contract"
    }
}

pub fn subject() -> Subject {
    Subject(&SUBJECT)
}

pub fn register(r: &mut Registry) {
    r.subject(&SUBJECT);
}
