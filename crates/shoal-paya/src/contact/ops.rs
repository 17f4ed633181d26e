//! Contact operations (`/v2/contacts`): create, get, update, delete, list, and a stream over
//! every page — each a builder that reads like the call and ends in `.send()`.

use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use shoal_core::{Cursor, Error, Page, Paginator, Pipeline, Request, Result};

use super::input::{ContactUpdate, NewContact};
use super::model::{Contact, ContactExpand};
use super::query::{ContactField, ContactQuery, SortOrder};
use crate::validate;
use crate::wire::{ContactBody, ContactEnvelope, ContactsEnvelope, ListPage, next_page};

/// Contact operations: `client.contacts()`.
#[derive(Clone, Debug)]
pub struct Contacts {
    pipeline: Pipeline,
}

fn record_path(id: &str) -> Result<String> {
    validate::id("id", id)?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "id",
            "may contain only letters, digits, '-' and '_'",
        ));
    }
    Ok(format!("v2/contacts/{id}"))
}

impl Contacts {
    pub(crate) fn new(pipeline: Pipeline) -> Self {
        Self { pipeline }
    }

    /// `POST /v2/contacts`: creates a contact.
    ///
    /// # Never silently duplicated
    /// A create is not idempotent, so it is **never resent automatically** once it may have
    /// reached the server — only a refused connection (nothing sent) is retried. After a 5xx,
    /// a timeout or a broken connection the error is [`Error::MaybeProcessed`]
    /// ([`PayaErrorExt::may_have_been_processed`](crate::PayaErrorExt::may_have_been_processed)):
    /// the contact may exist. Before trying again, look it up by the merchant's own id:
    ///
    /// ```no_run
    /// # async fn demo(client: shoal_paya::PayaClient, contact: shoal_paya::NewContact) -> shoal_core::Result<()> {
    /// use shoal_paya::PayaErrorExt;
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
            pipeline: self.pipeline.clone(),
            contact,
            update_if_exists: false,
        }
    }

    /// `GET /v2/contacts/{id}`.
    pub fn get(&self, id: impl Into<String>) -> GetContact {
        GetContact {
            pipeline: self.pipeline.clone(),
            id: id.into(),
            expand: Vec::new(),
        }
    }

    /// `PUT /v2/contacts/{id}`: changes only the fields set in `update`.
    pub fn update(&self, id: impl Into<String>, update: ContactUpdate) -> UpdateContact {
        UpdateContact {
            pipeline: self.pipeline.clone(),
            id: id.into(),
            update,
        }
    }

    /// `DELETE /v2/contacts/{id}`. A missing record is an error whose
    /// [`is_not_found`](crate::PayaErrorExt::is_not_found) is true (also when a retried delete
    /// finds its first attempt already went through).
    pub fn delete(&self, id: impl Into<String>) -> DeleteContact {
        DeleteContact {
            pipeline: self.pipeline.clone(),
            id: id.into(),
        }
    }

    /// `GET /v2/contacts`: one page, or every page as a stream.
    pub fn list(&self) -> ListContacts {
        ListContacts {
            pipeline: self.pipeline.clone(),
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
pub struct CreateContact {
    pipeline: Pipeline,
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

    /// The request this sends (validated, before credentials).
    pub fn request(&self) -> Result<Request> {
        self.contact.validate()?;
        if self.update_if_exists
            && self
                .contact
                .details
                .contact_api_id
                .as_deref()
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
        let env: ContactEnvelope<Contact> = self.pipeline.json(self.request()?).await?;
        Ok(env.contact)
    }
}

/// A pending `GET /v2/contacts/{id}`.
#[derive(Clone, Debug)]
pub struct GetContact {
    pipeline: Pipeline,
    id: String,
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

    /// The request this sends.
    pub fn request(&self) -> Result<Request> {
        let mut req = Request::get(record_path(&self.id)?);
        if !self.expand.is_empty() {
            let names: Vec<&str> = self.expand.iter().map(|e| e.as_str()).collect();
            req = req.query("expand", names.join(","));
        }
        Ok(req)
    }

    /// Sends it.
    pub async fn send(self) -> Result<Contact> {
        let env: ContactEnvelope<Contact> = self.pipeline.json(self.request()?).await?;
        Ok(env.contact)
    }
}

/// A pending `PUT /v2/contacts/{id}`.
#[derive(Clone, Debug)]
pub struct UpdateContact {
    pipeline: Pipeline,
    id: String,
    update: ContactUpdate,
}

impl UpdateContact {
    /// The request this sends (validated).
    pub fn request(&self) -> Result<Request> {
        let path = record_path(&self.id)?;
        if self.update.is_empty() {
            return Err(Error::invalid("update", "sets no field; nothing to send"));
        }
        self.update.validate()?;
        Request::put(path).json(&ContactBody {
            contact: &self.update,
        })
    }

    /// Sends it and returns the record as it now is.
    pub async fn send(self) -> Result<Contact> {
        let env: ContactEnvelope<Contact> = self.pipeline.json(self.request()?).await?;
        Ok(env.contact)
    }
}

/// A pending `DELETE /v2/contacts/{id}`.
#[derive(Clone, Debug)]
pub struct DeleteContact {
    pipeline: Pipeline,
    id: String,
}

impl DeleteContact {
    /// The request this sends.
    pub fn request(&self) -> Result<Request> {
        Ok(Request::delete(record_path(&self.id)?))
    }

    /// Sends it.
    pub async fn send(self) -> Result<()> {
        self.pipeline.execute(self.request()?).await.map(drop)
    }
}

/// A pending `GET /v2/contacts`: [`send`](Self::send) for one page, [`stream`](Self::stream)
/// for every contact of every page.
#[derive(Clone, Debug)]
pub struct ListContacts {
    pipeline: Pipeline,
    query: ContactQuery,
    resume: Option<Cursor>,
}

async fn fetch(pipeline: &Pipeline, query: &ContactQuery) -> Result<ListPage<Contact>> {
    query.validate()?;
    let env: ContactsEnvelope<Contact> = pipeline
        .json(Request::get("v2/contacts").query_struct(query)?)
        .await?;
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
    /// Only contacts whose `field` equals `value`.
    pub fn filter(mut self, field: ContactField, value: impl Into<String>) -> Self {
        self.query = self.query.filter(field, value);
        self
    }
    /// Sorts by one column.
    pub fn sort(mut self, field: ContactField, order: SortOrder) -> Self {
        self.query = self.query.sort(field, order);
        self
    }
    /// Embeds related records.
    pub fn expand(mut self, what: ContactExpand) -> Self {
        self.query = self.query.expand(what);
        self
    }
    /// Contacts per page (1–100).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.query = self.query.page_size(page_size);
        self
    }
    /// Which page [`send`](Self::send) fetches, or where a stream starts (1-based).
    pub fn page(mut self, page: u32) -> Self {
        self.query = self.query.page(page);
        self
    }
    /// Resumes a stream at a cursor saved from [`Page::next`] (possibly in another process).
    pub fn resume_from(mut self, cursor: Cursor) -> Self {
        self.resume = Some(cursor);
        self
    }

    /// The request [`send`](Self::send) makes (validated, before credentials).
    pub fn request(&self) -> Result<Request> {
        self.query.validate()?;
        Request::get("v2/contacts").query_struct(&self.query)
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<ListPage<Contact>> {
        fetch(&self.pipeline, &self.query).await
    }

    /// Every page in order. The cursor is the next page number; paging follows `links.next` and
    /// stops on a short or empty page or when `pageCount` is reached, never relying on
    /// `currentPage` (0- or 1-based depending on the example).
    pub fn pages(self) -> BoxStream<'static, Result<Page<Contact>>> {
        let Self {
            pipeline,
            query,
            resume,
        } = self;
        if let Err(e) = query.validate() {
            return stream::once(async move { Err(e) }).boxed();
        }
        let first = query.requested_page().unwrap_or(1);
        let paginator = Paginator::new(move |cursor: Option<Cursor>| {
            let pipeline = pipeline.clone();
            let query = query.clone();
            async move {
                let page = match cursor {
                    None => first,
                    Some(c) => c
                        .as_str()
                        .parse()
                        .map_err(|_| Error::Pagination(format!("not a page number: {c}")))?,
                };
                let list = fetch(&pipeline, &query.clone().page(page)).await?;
                let next = next_page(
                    page,
                    list.items.len(),
                    query.requested_page_size(),
                    list.meta.pagination.as_ref(),
                );
                Ok(Page::new(
                    list.items,
                    next.map(|n| Cursor::new(n.to_string())),
                ))
            }
        });
        paginator.resume_from(resume).by_page().boxed()
    }

    /// Every contact of every page, in order (see [`pages`](Self::pages)).
    pub fn stream(self) -> BoxStream<'static, Result<Contact>> {
        self.pages()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}
