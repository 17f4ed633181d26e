//! The Data Island `ApplicationReference` controller (`1.1/di/ApplicationReference`): create and
//! update (both POST), get, get by application id, delete.

use shoal_core::Request;

use shoal_core::Call;

use super::decode;
use super::target;
use crate::client::PebblePadClient;
use crate::models::application_reference::ApplicationReference;

const CONTROLLER: &str = "di/ApplicationReference";

/// The Data Island application-reference actions of a client: `client.application_references()`.
#[derive(Clone, Copy, Debug)]
pub struct ApplicationReferences<'a> {
    client: &'a PebblePadClient,
}

impl<'a> ApplicationReferences<'a> {
    pub(crate) fn new(client: &'a PebblePadClient) -> Self {
        Self { client }
    }

    /// `POST 1.1/di/ApplicationReference/Create`: answers 200 with no body.
    pub fn create(&self, reference: &ApplicationReference) -> Call<()> {
        self.post("Create", reference)
    }

    /// `POST 1.1/di/ApplicationReference/Update` (POST, as the vendor documents).
    pub fn update(&self, reference: &ApplicationReference) -> Call<()> {
        self.post("Update", reference)
    }

    /// `GET 1.1/di/ApplicationReference/Get/{id}`: the reference as the object the create body
    /// is *(assumed: the answer is undocumented, `shared/api/pebblepad.md` "Version 1.1
    /// resources")*.
    pub fn get(&self, id: &str) -> Call<ApplicationReference> {
        let request = target::with_id(CONTROLLER, "Get", id).map(Request::get);
        Call::new(self.client.pipeline(), request, decode::json)
    }

    /// `GET 1.1/di/ApplicationReference/GetOnApplicationId/{id}`: every reference of an
    /// application, as a JSON array *(assumed: the contract, `shared/api/pebblepad.md`
    /// "Version 1.1 resources", names no answer)*; anything else is an error naming what came
    /// back ([`decode::list`]).
    pub fn for_application(&self, application_id: &str) -> Call<Vec<ApplicationReference>> {
        let request =
            target::with_id(CONTROLLER, "GetOnApplicationId", application_id).map(Request::get);
        Call::new(self.client.pipeline(), request, decode::list)
    }

    /// `DELETE 1.1/di/ApplicationReference/Delete/{id}`.
    pub fn delete(&self, id: &str) -> Call<()> {
        let request = target::with_id(CONTROLLER, "Delete", id).map(Request::delete);
        Call::new(self.client.pipeline(), request, decode::unit)
    }

    fn post(&self, action: &str, reference: &ApplicationReference) -> Call<()> {
        let request = if reference.id.trim().is_empty() {
            Err(shoal_core::Error::invalid(
                "id",
                "an application reference needs the caller's `id`",
            ))
        } else {
            Request::post(target::action(CONTROLLER, action)).json(reference)
        };
        Call::new(self.client.pipeline(), request, decode::unit)
    }
}
