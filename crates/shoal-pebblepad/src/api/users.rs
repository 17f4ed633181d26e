//! The `User` controller: create, delete (marks for deletion), and contact / other details —
//! each by `Id` or `CustomId` through one [`Target`].

use shoal_core::Request;

use shoal_core::Call;

use super::decode;
use super::target::Target;
use crate::client::PebblePadClient;
use crate::models::user::{BasicUserInfo, UserDetails};

const CONTROLLER: &str = "User";

/// The `User` actions of a client: `client.users()`.
#[derive(Clone, Copy, Debug)]
pub struct Users<'a> {
    client: &'a PebblePadClient,
}

impl<'a> Users<'a> {
    pub(crate) fn new(client: &'a PebblePadClient) -> Self {
        Self { client }
    }

    /// `POST 1.1/User/Create`: creates a user. The answer is the created record as far as the
    /// server returns it (at least its `Id` when it sends one) — the record, its bare id or
    /// nothing *(assumed: the answer is undocumented, `shared/api/pebblepad.md` "Version 1.1
    /// resources"; see [`decode::record`])*.
    ///
    /// A username that exists answers 400 — see
    /// [`PebblePadErrorExt::is_username_exists`](crate::PebblePadErrorExt::is_username_exists).
    pub fn create(&self, user: &BasicUserInfo) -> Call<BasicUserInfo> {
        super::create(self.client, CONTROLLER, user)
    }

    /// `DELETE 1.1/User/Delete[OnCustomId]/{id}`: *marks* the user for deletion.
    pub fn delete(&self, user: Target) -> Call<()> {
        let request = user.path(CONTROLLER, "Delete").map(Request::delete);
        Call::new(self.client.pipeline(), request, decode::unit)
    }

    /// `PUT 1.1/User/AddContactDetails[OnCustomId]/{id}`: merges `details` into the user's
    /// contact details (the body's shape is *assumed*, see [`UserDetails`]). The answer is the
    /// user as far as the server returns it.
    pub fn add_contact_details(&self, user: Target, details: &UserDetails) -> Call<BasicUserInfo> {
        self.details(user, "AddContactDetails", details)
    }

    /// `PUT 1.1/User/AddOtherDetails[OnCustomId]/{id}`: merges `details` into the user's other
    /// details (the body's shape is *assumed*, see [`UserDetails`]).
    pub fn add_other_details(&self, user: Target, details: &UserDetails) -> Call<BasicUserInfo> {
        self.details(user, "AddOtherDetails", details)
    }

    /// `PUT 1.1/User/DeleteContactDetails[OnCustomId]/{id}`: removes the named contact-detail
    /// fields (the body is a JSON array of field names *(assumed shape: `shared/api/pebblepad.md`
    /// "Version 1.1 resources" names the action only)*).
    pub fn delete_contact_details(
        &self,
        user: Target,
        names: &[impl AsRef<str>],
    ) -> Call<BasicUserInfo> {
        self.details(user, "DeleteContactDetails", &names_of(names))
    }

    /// `PUT 1.1/User/DeleteOtherDetails[OnCustomId]/{id}`: removes the named other-detail
    /// fields (a JSON array of field names *(assumed shape, as for
    /// [`delete_contact_details`](Self::delete_contact_details))*).
    pub fn delete_other_details(
        &self,
        user: Target,
        names: &[impl AsRef<str>],
    ) -> Call<BasicUserInfo> {
        self.details(user, "DeleteOtherDetails", &names_of(names))
    }

    fn details<B: serde::Serialize + ?Sized>(
        &self,
        user: Target,
        action: &str,
        body: &B,
    ) -> Call<BasicUserInfo> {
        let request = user.put_json(CONTROLLER, action, body);
        Call::new(self.client.pipeline(), request, decode::record)
    }
}

fn names_of(names: &[impl AsRef<str>]) -> Vec<&str> {
    names.iter().map(AsRef::as_ref).collect()
}
