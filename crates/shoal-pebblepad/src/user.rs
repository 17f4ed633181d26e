//! The `User` controller: create, delete (marks for deletion), and contact / other details —
//! each by `Id` or `CustomId` through one [`Target`].

use shoal_core::Request;

use crate::call::{self, Call};
use crate::client::PebblePad;
use crate::models::user::{BasicUserInfo, UserDetails};
use crate::target::{self, Target};

const CONTROLLER: &str = "User";

/// The `User` actions of a client: `client.users()`.
#[derive(Clone, Copy, Debug)]
pub struct Users<'a> {
    client: &'a PebblePad,
}

impl<'a> Users<'a> {
    pub(crate) fn new(client: &'a PebblePad) -> Self {
        Self { client }
    }

    /// `POST 1.1/User/Create`: creates a user. The answer is the created record as far as the
    /// server returns it (at least its `Id` when it sends one).
    ///
    /// A username that exists answers 400 — see
    /// [`PebblePadErrorExt::is_username_exists`](crate::PebblePadErrorExt::is_username_exists).
    pub fn create(&self, user: &BasicUserInfo) -> Call<BasicUserInfo> {
        let request = Request::post(target::action(CONTROLLER, "Create")).json(user);
        Call::new(self.client, request, call::record)
    }

    /// `DELETE 1.1/User/Delete[OnCustomId]/{id}`: *marks* the user for deletion.
    pub fn delete(&self, user: Target) -> Call<()> {
        let request = user.path(CONTROLLER, "Delete").map(Request::delete);
        Call::new(self.client, request, call::unit)
    }

    /// `PUT 1.1/User/AddContactDetails[OnCustomId]/{id}`.
    pub fn add_contact_details(&self, user: Target, details: &UserDetails) -> Call<()> {
        self.details(user, "AddContactDetails", details)
    }

    /// `PUT 1.1/User/AddOtherDetails[OnCustomId]/{id}`.
    pub fn add_other_details(&self, user: Target, details: &UserDetails) -> Call<()> {
        self.details(user, "AddOtherDetails", details)
    }

    /// `PUT 1.1/User/DeleteContactDetails[OnCustomId]/{id}`: `details` names what to remove.
    pub fn delete_contact_details(&self, user: Target, details: &UserDetails) -> Call<()> {
        self.details(user, "DeleteContactDetails", details)
    }

    /// `PUT 1.1/User/DeleteOtherDetails[OnCustomId]/{id}`: `details` names what to remove.
    pub fn delete_other_details(&self, user: Target, details: &UserDetails) -> Call<()> {
        self.details(user, "DeleteOtherDetails", details)
    }

    fn details(&self, user: Target, action: &str, details: &UserDetails) -> Call<()> {
        let request = user
            .path(CONTROLLER, action)
            .and_then(|path| Request::put(path).json(details));
        Call::new(self.client, request, call::unit)
    }
}
