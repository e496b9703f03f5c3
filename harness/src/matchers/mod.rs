//! How observed state is judged: text matches ([`text`]), partial objects ([`partial`]),
//! CEL expressions ([`cel`]), and a pod's own account of its state ([`pod`]). Every failed judgement is a [`Mismatch`] (what was checked,
//! what was expected, what was seen); a judgement that could not be made at all is a
//! [`Miss::Unknown`], which no check ever reads as "does not hold".

pub mod cel;
mod mismatch;
pub mod partial;
pub mod pod;
pub mod schema;
pub mod text;

pub use mismatch::Mismatch;

/// Why a check did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Miss {
    /// It was evaluated, and it is false.
    False(Mismatch),
    /// It could not be evaluated on this state (a field it reads is missing, a value of the
    /// wrong type): neither true nor false.
    Unknown(Mismatch),
}

impl Miss {
    pub fn mismatch(&self) -> &Mismatch {
        match self {
            Miss::False(m) | Miss::Unknown(m) => m,
        }
    }

    pub fn into_mismatch(self) -> Mismatch {
        match self {
            Miss::False(m) | Miss::Unknown(m) => m,
        }
    }
}

impl From<Mismatch> for Miss {
    fn from(m: Mismatch) -> Self {
        Miss::False(m)
    }
}
