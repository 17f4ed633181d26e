//! Contact operations (`/v2/contacts`): create, get, update, delete, list, and every page as a
//! stream — each a builder that reads like the call and ends in `.send()`.

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use serde::Serialize;
use shoal_core::{Call, Cursor, Error, Page, Paginator, Pipeline, Request, Response, Result};

use super::contact_query::{ContactQuery, SortOrder};
use crate::client::PayaClient;
use crate::models::contact::{Contact, ContactExpand};
use crate::models::contact_input::{ContactUpdate, NewContact};
use crate::models::envelope::{
    ContactBody, ContactEnvelope, ContactsEnvelope, ListPage, next_page,
};
use crate::models::fields::ContactField;
use crate::models::validate;

/// Contact operations: `client.contacts()`.
#[derive(Clone, Copy, Debug)]
pub struct Contacts<'a> {
    client: &'a PayaClient,
}

/// `v2/contacts/{id}`: the id must be URL-safe always, and 24–36 characters with checks on.
fn record_path(id: &str, checks: bool) -> Result<String> {
    if checks {
        validate::id("id", id)?;
    }
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "id",
            "must be non-empty and contain only letters, digits, '-' and '_'",
        ));
    }
    Ok(format!("v2/contacts/{id}"))
}

fn one_contact(response: &Response) -> Result<Contact> {
    Ok(response.json::<ContactEnvelope<Contact>>()?.contact)
}

impl<'a> Contacts<'a> {
    pub(crate) fn new(client: &'a PayaClient) -> Self {
        Self { client }
    }

    fn pipeline(&self) -> &Pipeline {
        self.client.pipeline()
    }

    /// `POST /v2/contacts`: creates a contact.
    ///
    /// # Never silently duplicated
    /// A create is not idempotent, so it is **never resent automatically** once it may have
    /// reached the server — only a refused connection (nothing sent) is retried. After a 5xx,
    /// a timeout or a broken connection the error is [`Error::MaybeProcessed`]
    /// ([`Error::may_have_been_processed`]): the contact may exist. Before trying again, look it
    /// up by the merchant's own id:
    ///
    /// ```no_run
    /// # async fn demo(client: shoal_paya::PayaClient, contact: shoal_paya::NewContact) -> shoal_core::Result<()> {
    /// let contact = contact.contact_api_id("crm-1017");
    /// match client.contacts().create(contact.clone()).send().await {
    ///     Ok(created) => println!("created {:?}", created.id),
    ///     Err(e) if e.may_have_been_processed() => {
    ///         match client.contacts().find_by_api_id("crm-1017").await? {
    ///             Some(existing) => println!("it went through: {:?}", existing.id),
    ///             None => { client.contacts().create(contact).send().await?; }
    ///         }
    ///     }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    /// Or send it as an upsert ([`CreateContact::update_if_exists`]): resending an upsert with
    /// the same `contact_api_id` updates the record instead of adding a second one, so an upsert
    /// is marked idempotent and the client's retry policy resends it after a 5xx or a timeout.
    pub fn create(&self, contact: NewContact) -> CreateContact {
        CreateContact {
            pipeline: self.pipeline().clone(),
            checks: self.client.input_checks(),
            contact,
            update_if_exists: false,
        }
    }

    /// `GET /v2/contacts/{id}`.
    pub fn get(&self, id: impl AsRef<str>) -> GetContact {
        GetContact {
            call: Call::new(
                self.pipeline(),
                record_path(id.as_ref(), self.client.input_checks()).map(Request::get),
                one_contact,
            ),
            expand: Vec::new(),
        }
    }

    /// `PUT /v2/contacts/{id}`: changes only the fields set in `update` (checked first).
    pub fn update(&self, id: impl AsRef<str>, update: ContactUpdate) -> Call<Contact> {
        let checks = self.client.input_checks();
        let request = record_path(id.as_ref(), checks).and_then(|path| {
            if update.is_empty() {
                return Err(Error::invalid("update", "sets no field; nothing to send"));
            }
            if checks {
                update.validate()?;
            }
            Request::put(path).json(&ContactBody { contact: &update })
        });
        Call::new(self.pipeline(), request, one_contact)
    }

    /// `DELETE /v2/contacts/{id}`. A missing record is an error of kind
    /// [`ErrorKind::NotFound`](shoal_core::ErrorKind::NotFound) (also when a retried delete
    /// finds its first attempt already went through).
    pub fn delete(&self, id: impl AsRef<str>) -> Call<()> {
        let request = record_path(id.as_ref(), self.client.input_checks()).map(Request::delete);
        Call::unit(self.pipeline(), request)
    }

    /// `GET /v2/contacts`: one page ([`ListContacts::send`]), or every page as a stream.
    pub fn list(&self) -> ListContacts {
        ListContacts {
            pipeline: self.pipeline().clone(),
            checks: self.client.input_checks(),
            query: ContactQuery::new(),
            resume: None,
        }
    }

    /// The contact with this `contact_api_id`, if there is one: the check to make after an
    /// ambiguous create failure.
    pub async fn find_by_api_id(&self, contact_api_id: &str) -> Result<Option<Contact>> {
        validate::length("contact_api_id", contact_api_id, 1, 36)?;
        let page = self
            .list()
            .query(
                ContactQuery::new()
                    .contact_api_id(contact_api_id)
                    .page_size(2),
            )
            .send()
            .await?;
        Ok(page
            .items
            .into_iter()
            .find(|c| c.contact_api_id.as_deref() == Some(contact_api_id)))
    }
}

#[derive(Serialize)]
struct CreateFields<'a> {
    #[serde(flatten)]
    contact: &'a NewContact,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_if_exists: Option<u8>,
}

/// A pending `POST /v2/contacts`.
#[derive(Clone, Debug)]
#[must_use = "a call does nothing until `.send()` is awaited"]
pub struct CreateContact {
    pipeline: Pipeline,
    checks: bool,
    contact: NewContact,
    update_if_exists: bool,
}

impl CreateContact {
    /// Upsert: when a contact with the same `contact_api_id` exists, update it instead of
    /// answering 422. Requires `contact_api_id` (checked before sending).
    pub fn update_if_exists(mut self) -> Self {
        self.update_if_exists = true;
        self
    }

    /// The request this sends (checked, before credentials).
    pub fn request(&self) -> Result<Request> {
        if self.checks {
            self.contact.validate()?;
        }
        if self.update_if_exists
            && self
                .contact
                .contact_api_id_value()
                .is_none_or(str::is_empty)
        {
            return Err(Error::invalid(
                "contact_api_id",
                "is required with update_if_exists (the upsert matches on it)",
            ));
        }
        let fields = CreateFields {
            contact: &self.contact,
            update_if_exists: self.update_if_exists.then_some(1),
        };
        // An upsert keyed by `contact_api_id` may be sent twice with the effect of once, so the
        // pipeline's retry policy may resend it after a 5xx or a timeout; a plain create may not.
        Request::post("v2/contacts")
            .idempotent(self.update_if_exists)
            .json(&ContactBody { contact: &fields })
    }

    /// Sends it once; see [`Contacts::create`] for what to do after an ambiguous failure.
    pub async fn send(self) -> Result<Contact> {
        Call::new(&self.pipeline, self.request(), one_contact)
            .send()
            .await
    }
}

/// A pending `GET /v2/contacts/{id}`.
#[derive(Debug)]
#[must_use = "a call does nothing until `.send()` is awaited"]
pub struct GetContact {
    call: Call<Contact>,
    expand: Vec<ContactExpand>,
}

impl GetContact {
    /// Embeds a related record.
    pub fn expand(mut self, what: ContactExpand) -> Self {
        if !self.expand.contains(&what) {
            self.expand.push(what);
        }
        self
    }

    /// The request this sends, or the input error that stops it.
    pub fn request(&self) -> Result<Request, &Error> {
        let mut req = self.call.request()?.clone();
        if !self.expand.is_empty() {
            let names: Vec<&str> = self.expand.iter().map(|e| e.as_str()).collect();
            req = req.query("expand", names.join(","));
        }
        Ok(req)
    }

    /// Sends it.
    pub async fn send(self) -> Result<Contact> {
        let names: Vec<&str> = self.expand.iter().map(|e| e.as_str()).collect();
        let expand = (!names.is_empty()).then(|| names.join(","));
        self.call
            .map_request(move |r| {
                Ok(match expand {
                    Some(e) => r.query("expand", e),
                    None => r,
                })
            })
            .send()
            .await
    }
}

/// A pending `GET /v2/contacts`: [`send`](Self::send) for one page,
/// [`by_page`](Self::by_page) / [`by_item`](Self::by_item) for every page.
#[derive(Clone, Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListContacts {
    pipeline: Pipeline,
    checks: bool,
    query: ContactQuery,
    resume: Option<Cursor>,
}

async fn fetch(
    pipeline: &Pipeline,
    query: &ContactQuery,
    checks: bool,
) -> Result<ListPage<Contact>> {
    query.validate_with(checks)?;
    let response = pipeline
        .execute(Request::get("v2/contacts").query_struct(query)?)
        .await?;
    let env: ContactsEnvelope<Contact> = crate::models::envelope::strict(&response, "contacts")?;
    Ok(ListPage {
        items: env.contacts,
        meta: env.meta,
    })
}

impl ListContacts {
    /// Replaces the whole query.
    pub fn query(mut self, query: ContactQuery) -> Self {
        self.query = query;
        self
    }
    query_setters! {
        /// Only contacts whose `field` equals `value`.
        filter(field: ContactField, value: impl Into<String>);
        /// Sorts by one column.
        sort(field: ContactField, order: SortOrder);
        /// Embeds related records.
        expand(what: ContactExpand);
        /// Contacts per page (1–100; the maximum is *assumed* — `shared/api/paya.md` "Conventions" —
        /// and checked only with [input checks](crate::PayaClientBuilder::input_checks) on).
        page_size(page_size: u32);
        /// Which page [`send`](Self::send) fetches, or where a stream starts (1-based).
        page(page: u32);
    }
    /// Resumes a stream at a cursor saved from [`Page::next`] (possibly in another process);
    /// `None` starts at the first page.
    pub fn resume_from(mut self, cursor: Option<Cursor>) -> Self {
        self.resume = cursor;
        self
    }

    /// The request [`send`](Self::send) makes (checked, before credentials).
    pub fn request(&self) -> Result<Request> {
        self.query.validate_with(self.checks)?;
        Request::get("v2/contacts").query_struct(&self.query)
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<ListPage<Contact>> {
        fetch(&self.pipeline, &self.query, self.checks).await
    }

    /// Every page in order. The cursor is the next page number; paging follows `links.next` and
    /// stops on a short or empty page or when `pageCount` is reached, never relying on
    /// `currentPage` (0- or 1-based depending on the example). A listing that stops early while
    /// its own `pageCount`/`totalCount` say more follow, or whose `next` link points back, ends
    /// with [`Error::Pagination`] rather than as a success.
    pub fn by_page(self) -> BoxStream<'static, Result<Page<Contact>>> {
        self.paginator().by_page().boxed()
    }

    /// Every contact of every page, in order (see [`by_page`](Self::by_page)).
    pub fn by_item(self) -> BoxStream<'static, Result<Contact>> {
        self.paginator().by_item().boxed()
    }

    fn paginator(self) -> Paginator<impl FnMut(Option<Cursor>) -> PageFuture + Send + 'static> {
        let Self {
            pipeline,
            checks,
            query,
            resume,
        } = self;
        let first = query.requested_page().unwrap_or(1);
        Paginator::new(move |cursor: Option<Cursor>| {
            let pipeline = pipeline.clone();
            let query = query.clone();
            Box::pin(async move {
                let page = match cursor {
                    None => first,
                    Some(c) => c
                        .as_str()
                        .parse()
                        .map_err(|_| Error::Pagination(format!("not a page number: {c}")))?,
                };
                let list = fetch(&pipeline, &query.clone().page(page), checks).await?;
                let next = next_page(
                    page,
                    list.items.len(),
                    query.requested_page_size(),
                    list.meta.pagination.as_ref(),
                )
                .map_err(Error::Pagination)?;
                Ok(Page::new(
                    list.items,
                    next.map(|n| Cursor::new(n.to_string())),
                ))
            }) as PageFuture
        })
        .resume_from(resume)
    }
}

/// One page being fetched.
type PageFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Page<Contact>>> + Send>>;
