//! The `Grade` controller: get (by grade, by user id, by custom user id), import (users by id or
//! custom id), recall and update.

use shoal_core::Request;

use shoal_core::Call;

use super::decode;
use super::target::{self, IdKind, Target};
use crate::client::PebblePadClient;
use crate::models::grade::Grade;

const CONTROLLER: &str = "Grade";

/// The `Grade` actions of a client: `client.grades()`.
#[derive(Clone, Copy, Debug)]
pub struct Grades<'a> {
    client: &'a PebblePadClient,
}

impl<'a> Grades<'a> {
    pub(crate) fn new(client: &'a PebblePadClient) -> Self {
        Self { client }
    }

    /// `GET 1.1/Grade/Get[OnCustomId]/{id}`: the grade records with that id (an array, as the
    /// vendor documents; anything else is an error naming what came back — [`decode::list`]).
    pub fn get(&self, grade: Target) -> Call<Vec<Grade>> {
        let request = grade.path(CONTROLLER, "Get").map(Request::get);
        Call::new(self.client.pipeline(), request, decode::list)
    }

    /// A user's grades: `GET 1.1/Grade/GetOnUserId/{id}` for [`Target::Id`],
    /// `GET 1.1/Grade/GetOnCustomUserId/{id}` for [`Target::CustomId`]; an array, strictly
    /// ([`decode::list`]).
    pub fn for_user(&self, user: Target) -> Call<Vec<Grade>> {
        let action = match user.kind() {
            IdKind::Id => "GetOnUserId",
            IdKind::CustomId => "GetOnCustomUserId",
        };
        let request = target::with_id(CONTROLLER, action, user.value()).map(Request::get);
        Call::new(self.client.pipeline(), request, decode::list)
    }

    /// Imports grades: `POST 1.1/Grade/Import` when the records name users by PebblePad id
    /// ([`IdKind::Id`], [`Grade::for_user_id`]), `POST 1.1/Grade/ImportOnCustomUserId` when they
    /// name them by custom id ([`IdKind::CustomId`], [`Grade::for_user_custom_id`]).
    ///
    /// The answer is the imported records as far as the server returns them *(assumed: the
    /// contract, `shared/api/pebblepad.md` "Version 1.1 resources", documents no answer)*: an
    /// array, or nothing (an empty list); any other shape is an error
    /// ([`decode::returned_list`]) that says the grades may have been imported.
    pub fn import(&self, users_by: IdKind, grades: &[Grade]) -> Call<Vec<Grade>> {
        let action = match users_by {
            IdKind::Id => "Import",
            IdKind::CustomId => "ImportOnCustomUserId",
        };
        let request = Request::post(target::action(CONTROLLER, action)).json(grades);
        Call::new(self.client.pipeline(), request, decode::returned_list)
    }

    /// `PUT 1.1/Grade/Recall[OnCustomId]/{id}`: the answer is the grade as far as the server
    /// returns it *(assumed: undocumented; see [`decode::record`])*.
    pub fn recall(&self, grade: Target) -> Call<Grade> {
        let request = grade.path(CONTROLLER, "Recall").map(Request::put);
        Call::new(self.client.pipeline(), request, decode::record)
    }

    /// `PUT 1.1/Grade/Update[OnCustomId]/{id}`: the server changes only the `Grade` property
    /// (see [`Grade::value`]). The answer is the grade as far as the server returns it
    /// *(assumed: undocumented; see [`decode::record`])*.
    pub fn update(&self, grade: Target, record: &Grade) -> Call<Grade> {
        let request = grade.put_json(CONTROLLER, "Update", record);
        Call::new(self.client.pipeline(), request, decode::record)
    }
}
