//! The `Group` controller: create, update, delete, and members (get, add, remove) — each by `Id`
//! or `CustomId` through one [`Target`].

use shoal_core::Request;

use shoal_core::Call;

use super::decode;
use super::target::Target;
use crate::client::PebblePadClient;
use crate::models::group::{Group, GroupMember};

const CONTROLLER: &str = "Group";

/// The `Group` actions of a client: `client.groups()`.
#[derive(Clone, Copy, Debug)]
pub struct Groups<'a> {
    client: &'a PebblePadClient,
}

impl<'a> Groups<'a> {
    pub(crate) fn new(client: &'a PebblePadClient) -> Self {
        Self { client }
    }

    /// `POST 1.1/Group/Create`: the answer is the created record as far as the server returns it
    /// — the record, its bare id or nothing *(assumed: undocumented, `shared/api/pebblepad.md`
    /// "Version 1.1 resources"; see [`decode::record`])*.
    pub fn create(&self, group: &Group) -> Call<Group> {
        super::create(self.client, CONTROLLER, group)
    }

    /// `PUT 1.1/Group/Update[OnCustomId]/{id}`: the answer is the updated group as far as the
    /// server returns it.
    pub fn update(&self, group: Target, changes: &Group) -> Call<Group> {
        let request = group.put_json(CONTROLLER, "Update", changes);
        Call::new(self.client.pipeline(), request, decode::record)
    }

    /// `DELETE 1.1/Group/Delete[OnCustomId]/{id}`: the members' work is kept.
    pub fn delete(&self, group: Target) -> Call<()> {
        let request = group.path(CONTROLLER, "Delete").map(Request::delete);
        Call::new(self.client.pipeline(), request, decode::unit)
    }

    /// `GET 1.1/Group/GetMembers[OnCustomId]/{id}`: the members as a JSON array *(assumed: the
    /// contract, `shared/api/pebblepad.md` "Version 1.1 resources", names the action but not its
    /// answer)*. Any other answer — an envelope object, `null`, an empty body — is
    /// [`Error::Decode`](shoal_core::Error::Decode) naming what came back, never an empty group
    /// ([`decode::list`]).
    pub fn members(&self, group: Target) -> Call<Vec<GroupMember>> {
        let request = group.path(CONTROLLER, "GetMembers").map(Request::get);
        Call::new(self.client.pipeline(), request, decode::list)
    }

    /// `PUT 1.1/Group/AddMembers[OnCustomId]/{id}` with the members as a JSON array *(assumed
    /// body, see [`GroupMember`])*.
    pub fn add_members(&self, group: Target, members: &[GroupMember]) -> Call<()> {
        self.membership(group, "AddMembers", members)
    }

    /// `PUT 1.1/Group/RemoveMembers[OnCustomId]/{id}` with the members as a JSON array *(assumed
    /// body, see [`GroupMember`])*.
    pub fn remove_members(&self, group: Target, members: &[GroupMember]) -> Call<()> {
        self.membership(group, "RemoveMembers", members)
    }

    fn membership(&self, group: Target, action: &str, members: &[GroupMember]) -> Call<()> {
        let request = group.put_json(CONTROLLER, action, members);
        Call::new(self.client.pipeline(), request, decode::unit)
    }
}
