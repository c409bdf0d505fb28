//! Content mutations and workflow actions.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, ErrorExtensions, ID, Object, Result, Upload};
use uuid::Uuid;

use crate::domain::access::Action;
use crate::media::{IntakeError, Media, MediaError};

use super::*;
use crate::domain::patch::{ModulePatch, Patch, ResourceEdit};
use crate::domain::workflow::WorkflowAction;
use crate::domain::{Kind, Stage};
use crate::editorial::{Arguments, Editorial, Who};
use crate::graphql::access::connection_to_db;
use crate::graphql::access::{loaders, viewer};
use crate::graphql::content::types::{
    Asset, ContentItem, Module, Resource, ResourceType, Tag, Topic,
};
use crate::graphql::error::{ErrorCode, client_error, internal};
use crate::graphql::ids::decode;
use crate::graphql::loaders::{
    AssetById, ContentLoader, LoadError, Loaders, ModuleById, ResourceById, ResourceTypeById,
    TagById, TopicById,
};
use async_graphql::dataloader::Loader;

pub(super) fn editorial<'c>(ctx: &Context<'c>) -> &'c Editorial {
    ctx.data_unchecked::<Editorial>()
}

pub(super) fn who(ctx: &Context<'_>) -> Who {
    let viewer = viewer(ctx);
    Who {
        actor: viewer.actor().clone(),
        request_id: viewer.request_id.clone(),
    }
}

pub(super) fn document_id(id: &ID, kind: Option<Kind>) -> Result<Uuid> {
    match decode(id) {
        Some((node_type, uuid)) if kind.is_none_or(|kind| node_type.kind() == kind) => Ok(uuid),
        _ => Err(client_error(ErrorCode::NotFound, "there is no such item")),
    }
}

/// The item as its current draft reads, after a change.
pub(super) async fn draft_item(ctx: &Context<'_>, kind: Kind, id: Uuid) -> Result<ContentItem> {
    let loaders = loaders(ctx, Stage::Draft)?;
    let stage = Stage::Draft;
    Ok(match kind {
        Kind::Resource => ContentItem::Resource(Resource::at(stage)(
            draft_row(loaders, ResourceById(id), id).await?,
        )),
        Kind::Module => ContentItem::Module(Module::at(stage)(
            draft_row(loaders, ModuleById(id), id).await?,
        )),
        Kind::Topic => ContentItem::Topic(Topic::at(stage)(
            draft_row(loaders, TopicById(id), id).await?,
        )),
        Kind::ResourceType => ContentItem::ResourceType(ResourceType::at(stage)(
            draft_row(loaders, ResourceTypeById(id), id).await?,
        )),
        Kind::Tag => ContentItem::Tag(Tag::at(stage)(draft_row(loaders, TagById(id), id).await?)),
        Kind::Asset => ContentItem::Asset(Asset::at(stage)(
            draft_row(loaders, AssetById(id), id).await?,
        )),
    })
}

/// A document's draft row, which a change just wrote: missing is a fault.
async fn draft_row<K>(
    loaders: &Loaders,
    key: K,
    id: Uuid,
) -> Result<<ContentLoader as Loader<K>>::Value>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    ContentLoader: Loader<K, Error = LoadError>,
{
    loaders
        .load_one(key)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal(format!("document {id} has no draft projection")))
}

/// Creates a draft and answers it as the mutation's type (`Resource` for
/// `createResource`…).
pub(super) async fn create<T: TryFrom<ContentItem>>(
    ctx: &Context<'_>,
    patch: Patch,
    message: Option<String>,
) -> Result<T> {
    let kind = patch.kind();
    let mut conn = connection_to_db(ctx).await?;
    let id = editorial(ctx)
        .create(
            &mut conn,
            &who(ctx),
            &patch,
            message.as_deref().unwrap_or(""),
        )
        .await
        .map_err(|error| editorial_error(error, true))?;
    drop(conn);
    expect(draft_item(ctx, kind, id).await?)
}

/// Saves a draft version and answers it as the mutation's type.
pub(super) async fn update<T: TryFrom<ContentItem>>(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: i32,
    patch: Patch,
    message: Option<String>,
) -> Result<T> {
    let kind = patch.kind();
    let uuid = document_id(id, Some(kind))?;
    let mut conn = connection_to_db(ctx).await?;
    editorial(ctx)
        .update(
            &mut conn,
            &who(ctx),
            uuid,
            expected_version,
            &patch,
            message.as_deref().unwrap_or(""),
        )
        .await
        .map_err(|error| editorial_error(error, true))?;
    drop(conn);
    expect(draft_item(ctx, kind, uuid).await?)
}

pub(super) async fn act(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: Option<i32>,
    action: WorkflowAction,
    arguments: Arguments,
) -> Result<ContentItem> {
    let Some((node_type, uuid)) = decode(id) else {
        return Err(client_error(ErrorCode::NotFound, "there is no such item"));
    };
    let mut conn = connection_to_db(ctx).await?;
    editorial(ctx)
        .act(
            &mut conn,
            &who(ctx),
            uuid,
            expected_version,
            action,
            arguments,
        )
        .await
        .map_err(|error| editorial_error(error, false))?;
    drop(conn);
    draft_item(ctx, node_type.kind(), uuid).await
}

/// A workflow action that needs nothing but the item and its version.
pub(super) async fn step(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: i32,
    action: WorkflowAction,
) -> Result<ContentItem> {
    act(
        ctx,
        id,
        Some(expected_version),
        action,
        Arguments::default(),
    )
    .await
}

pub(super) fn list_position(position: i32) -> Result<usize> {
    usize::try_from(position)
        .map_err(|_| crate::graphql::error::bad_input("`position` counts from 0"))
}

/// One edit of a module's resource list, made by the editorial service on
/// the list as it stands at `expected_version`.
pub(super) async fn edit_module_resources(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: i32,
    edit: ResourceEdit,
    message: Option<String>,
) -> Result<Module> {
    let patch = Patch::Module(ModulePatch {
        resource_edit: Some(edit),
        ..Default::default()
    });
    update(ctx, id, expected_version, patch, message).await
}

/// An upload's bytes, checked and stored; and the name it was sent under.
async fn take_in_upload(
    ctx: &Context<'_>,
    upload: &Upload,
) -> Result<(crate::domain::content::AssetFile, String)> {
    let media = ctx.data_unchecked::<Media>();
    let value = upload.value(ctx).map_err(|_| {
        client_error(
            ErrorCode::BadUserInput,
            "the file is missing: send it as a GraphQL multipart request",
        )
    })?;
    let filename = value.filename.clone();
    let limit = media.limits.max_bytes;
    let too_large = |size: u64| {
        client_error(
            ErrorCode::PayloadTooLarge,
            format!("the file is {size} bytes; uploads are limited to {limit} bytes"),
        )
    };
    let size = value.size().map_err(internal)?;
    if size > limit {
        return Err(too_large(size));
    }
    let mut reader = value.into_read();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut bytes).map(|_| bytes)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    let file = media
        .take_in(bytes, Some(filename.clone()))
        .await
        .map_err(|error| match error {
            MediaError::Refused(IntakeError::TooLarge { size, .. }) => too_large(size),
            MediaError::Refused(refused) => {
                client_error(ErrorCode::UnsupportedFile, refused.to_string())
                    .extend_with(|_, extensions| extensions.set("field", "file"))
            }
            other => internal(other),
        })?;
    Ok((file, filename))
}

/// A title for an asset from the name its file was sent under:
/// `community-meeting_2023.jpg` → "community meeting 2023".
fn title_from_filename(filename: &str) -> String {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let title: String = stem
        .chars()
        .map(|c| if c == '-' || c == '_' { ' ' } else { c })
        .collect();
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        "Untitled file".into()
    } else {
        title
    }
}

fn expect<T: TryFrom<ContentItem>>(item: ContentItem) -> Result<T> {
    T::try_from(item).map_err(|_| internal("a mutation returned another kind of item"))
}

#[derive(Default)]
pub struct EditorialMutation;

/// Content and workflow mutations.
#[Object]
impl EditorialMutation {
    /// Creates a resource as a draft owned by the caller. AUTHOR and up.
    async fn create_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its fields; `title` and `types` are required.")] input: ResourceInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Resource> {
        create(ctx, input.into(), message).await
    }

    /// Saves a new draft version of a resource. CONFLICT (with
    /// `extensions.currentVersion`) when `expectedVersion` is not current.
    async fn update_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The resource's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: ResourceInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Resource> {
        update(ctx, &id, expected_version, input.into(), message).await
    }

    /// Creates a module as a draft owned by the caller. AUTHOR and up.
    async fn create_module(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its fields; `title` is required.")] input: ModuleInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        create(ctx, input.into(), message).await
    }

    /// Saves a new draft version of a module (see `updateResource`).
    async fn update_module(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: ModuleInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        update(ctx, &id, expected_version, input.into(), message).await
    }

    /// Uploads a file (GraphQL multipart request) as a new asset, a draft
    /// owned by the caller. AUTHOR and up. The file's type is told by its
    /// bytes: PNG, JPEG, GIF or WebP images (stored re-encoded, without
    /// their metadata; a GIF as a PNG of its first frame), PDF, MP4 or
    /// WebM; anything else, SVG included, is UNSUPPORTED_FILE, and a file
    /// over the server's upload limit PAYLOAD_TOO_LARGE.
    async fn upload_asset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file.")] file: Upload,
        #[graphql(desc = "Its description; the title defaults to the file's name.")] input: Option<
            AssetInput,
        >,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Asset> {
        // Refused before its bytes are read, let alone decoded.
        crate::domain::access::authorize(viewer(ctx).actor(), Action::CreateDraft)
            .map_err(crate::graphql::error::forbidden)?;
        let (file, filename) = take_in_upload(ctx, &file).await?;
        let mut input = input.unwrap_or_default();
        if input
            .title
            .as_deref()
            .is_none_or(|title| title.trim().is_empty())
        {
            input.title = Some(title_from_filename(&filename));
        }
        create(ctx, input.into_patch(Some(file)), message).await
    }

    /// Saves a new draft version of an asset: its description, its file
    /// (`file`, checked as `uploadAsset` checks it), or both (see
    /// `updateResource`).
    async fn update_asset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The asset's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: Option<AssetInput>,
        #[graphql(desc = "A new file in place of the current one.")] file: Option<Upload>,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Asset> {
        document_id(&id, Some(Kind::Asset))?;
        crate::domain::access::authorize(viewer(ctx).actor(), Action::EditOwnDraft)
            .map_err(crate::graphql::error::forbidden)?;
        let file = match &file {
            Some(upload) => Some(take_in_upload(ctx, upload).await?.0),
            None => None,
        };
        let patch = input.unwrap_or_default().into_patch(file);
        update(ctx, &id, expected_version, patch, message).await
    }

    /// Adds one resource to a module's ordered list, at `position` or at
    /// the end, without resending the rest. CONFLICT (with
    /// `extensions.currentVersion`) when `expectedVersion` is not current.
    async fn add_module_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The resource, by slug.")] resource: String,
        #[graphql(desc = "Where it goes, counting from 0; at the end when omitted.")]
        position: Option<i32>,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        let position = position.map(list_position).transpose()?;
        let edit = ResourceEdit::Add {
            slug: resource,
            position,
        };
        edit_module_resources(ctx, &id, expected_version, edit, message).await
    }

    /// Takes one resource out of a module's ordered list (see
    /// `addModuleResource`).
    async fn remove_module_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The resource, by slug.")] resource: String,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        let edit = ResourceEdit::Remove { slug: resource };
        edit_module_resources(ctx, &id, expected_version, edit, message).await
    }

    /// Moves one resource of a module's ordered list to `position` (see
    /// `addModuleResource`).
    async fn move_module_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The resource, by slug.")] resource: String,
        #[graphql(desc = "Its new place, counting from 0.")] position: i32,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        let edit = ResourceEdit::Move {
            slug: resource,
            position: list_position(position)?,
        };
        edit_module_resources(ctx, &id, expected_version, edit, message).await
    }

    /// Creates a topic as a draft owned by the caller. AUTHOR and up.
    async fn create_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its fields; `name` is required.")] input: TopicInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Topic> {
        create(ctx, input.into(), message).await
    }

    /// Saves a new draft version of a topic (see `updateResource`).
    async fn update_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: TopicInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Topic> {
        update(ctx, &id, expected_version, input.into(), message).await
    }

    /// Creates a tag as a draft owned by the caller. AUTHOR and up.
    async fn create_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its fields; `name` is required.")] input: TagInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Tag> {
        create(ctx, input.into(), message).await
    }

    /// Saves a new draft version of a tag (see `updateResource`).
    async fn update_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tag's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: TagInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Tag> {
        update(ctx, &id, expected_version, input.into(), message).await
    }

    /// Sends a draft to review (DRAFT or CHANGES_REQUESTED → IN_REVIEW).
    async fn submit_for_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::SubmitForReview).await
    }

    /// Sends a draft back with a comment (IN_REVIEW or APPROVED → CHANGES_REQUESTED). EDITOR and up.
    async fn request_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
        #[graphql(desc = "What to change.")] comment: String,
    ) -> Result<ContentItem> {
        let arguments = Arguments {
            comment: Some(comment),
            ..Default::default()
        };
        act(
            ctx,
            &id,
            Some(expected_version),
            WorkflowAction::RequestChanges,
            arguments,
        )
        .await
    }

    /// Approves a draft in review (IN_REVIEW → APPROVED). EDITOR and up.
    async fn approve(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Approve).await
    }

    /// Publishes the current draft (APPROVED → PUBLISHED; with review not
    /// required, from any draft state). PUBLISHER and up.
    async fn publish(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Publish).await
    }

    /// Takes the published version off the public side; the draft stays.
    /// PUBLISHER and up.
    async fn unpublish(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Unpublish).await
    }

    /// Withdraws an item and sets it aside. PUBLISHER and up.
    async fn archive(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Archive).await
    }

    /// Brings an archived item back as a draft. PUBLISHER and up.
    async fn restore(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Restore).await
    }

    /// Publishes the item at a future time (same precondition as `publish`).
    /// PUBLISHER and up.
    async fn schedule_publish(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
        #[graphql(desc = "When, in the future.")] at: Timestamp,
    ) -> Result<ContentItem> {
        let arguments = Arguments {
            at: Some(at.0),
            ..Default::default()
        };
        act(
            ctx,
            &id,
            Some(expected_version),
            WorkflowAction::SchedulePublish,
            arguments,
        )
        .await
    }

    /// Unpublishes the item at a future time. PUBLISHER and up.
    async fn schedule_unpublish(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
        #[graphql(desc = "When, in the future.")] at: Timestamp,
    ) -> Result<ContentItem> {
        let arguments = Arguments {
            at: Some(at.0),
            ..Default::default()
        };
        act(
            ctx,
            &id,
            Some(expected_version),
            WorkflowAction::ScheduleUnpublish,
            arguments,
        )
        .await
    }

    /// Cancels scheduled publishing and unpublishing. PUBLISHER and up.
    async fn cancel_schedule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::CancelSchedule).await
    }

    /// Makes a new draft version equal to an old one; history keeps both.
    async fn revert(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
        #[graphql(desc = "The version to bring back.")] to_version: i32,
    ) -> Result<ContentItem> {
        let Some((node_type, uuid)) = decode(&id) else {
            return Err(client_error(ErrorCode::NotFound, "there is no such item"));
        };
        let mut conn = connection_to_db(ctx).await?;
        editorial(ctx)
            .revert(&mut conn, &who(ctx), uuid, expected_version, to_version)
            .await
            .map_err(|error| editorial_error(error, false))?;
        drop(conn);
        draft_item(ctx, node_type.kind(), uuid).await
    }

    /// Comments on an item, in any state. AUTHOR and up.
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The comment.")] body: String,
    ) -> Result<ContentItem> {
        let arguments = Arguments {
            comment: Some(body),
            ..Default::default()
        };
        act(ctx, &id, None, WorkflowAction::Comment, arguments).await
    }
}
