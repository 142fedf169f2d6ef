//! The provider kinds as the console's forms offer them, read from the registry: each
//! kind carries its form (`ProviderKind::console`): where the admin registers poolgate
//! at the IdP, what to give it, and the details to take back (keys of the admin
//! service's provider `details`).

use crate::model::ProviderTypeName;
use crate::provider::kind::{ConsoleForm, FormField};
use crate::provider::{ProviderKind, registry};

/// A provider kind as the console offers it.
pub struct Kind {
    pub kind: &'static dyn ProviderKind,
    /// The type name, also the form's `type` value.
    pub slug: &'static str,
    pub form: &'static ConsoleForm,
}

impl Kind {
    fn of(kind: &'static dyn ProviderKind) -> Self {
        Self {
            kind,
            slug: kind.type_name(),
            form: kind.console(),
        }
    }
    pub fn title(&self) -> &'static str {
        self.form.title
    }
    pub fn fields(&self) -> &'static [FormField] {
        self.form.fields
    }
    pub fn type_name(&self) -> ProviderTypeName {
        registry::name_of(self.kind)
    }
}

/// Every kind, in the registry's order.
pub fn kinds() -> Vec<Kind> {
    registry::KINDS.iter().map(|k| Kind::of(*k)).collect()
}

pub fn kind_of(slug: &str) -> Option<Kind> {
    registry::find(slug).map(Kind::of)
}

pub fn kind_for(t: &ProviderTypeName) -> Option<Kind> {
    kind_of(t.as_str())
}
