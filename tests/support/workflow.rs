//! Content in a given workflow state, made through the editorial service
//! by an admin who is nobody else's author.

use beacon::domain::access::{Actor, Role};
use beacon::domain::patch::{LabelPatch, Patch};
use beacon::domain::workflow::WorkflowAction;
use beacon::editorial::{Arguments, Editorial, Who};
use beacon::graphql::ids::{NodeType, encode};

use super::TestApp;

/// A content item: its global id and current draft version.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub version: i32,
}

/// States a fresh tag can be put in.
#[derive(Debug, Clone, Copy)]
pub enum State {
    Draft,
    TwoVersions,
    InReview,
    Approved,
    Scheduled,
    Published,
    Archived,
}

impl TestApp {
    /// An admin user, acting through the editorial service directly.
    pub async fn admin_who(&self) -> Who {
        let mut conn = self.database.connection().await.unwrap();
        let email = format!("owner-{}@example.org", uuid::Uuid::new_v4());
        let user = beacon::identity::create_user(
            &mut conn,
            &email,
            "Owner",
            Role::Admin,
            "a long enough password",
        )
        .await
        .unwrap();
        Who {
            actor: Actor::User {
                id: user.id,
                role: Role::Admin,
            },
            request_id: None,
        }
    }

    /// A new tag in `state`.
    pub async fn tag_in(&self, state: State) -> Item {
        let who = self.admin_who().await;
        let editorial = Editorial::default();
        let mut conn = self.database.connection().await.unwrap();
        let name = format!("Tag {}", uuid::Uuid::new_v4());
        let id = editorial
            .create(
                &mut conn,
                &who,
                &Patch::Tag(LabelPatch {
                    name: Some(name.clone()),
                    slug: None,
                }),
                "",
            )
            .await
            .unwrap();
        let mut version = 1;
        let steps: &[WorkflowAction] = match state {
            State::Draft | State::TwoVersions => &[],
            State::InReview => &[WorkflowAction::SubmitForReview],
            State::Approved | State::Scheduled => {
                &[WorkflowAction::SubmitForReview, WorkflowAction::Approve]
            }
            State::Published => &[
                WorkflowAction::SubmitForReview,
                WorkflowAction::Approve,
                WorkflowAction::Publish,
            ],
            State::Archived => &[WorkflowAction::Archive],
        };
        for step in steps {
            editorial
                .act(
                    &mut conn,
                    &who,
                    id,
                    Some(version),
                    *step,
                    Arguments::default(),
                )
                .await
                .unwrap();
        }
        if let State::Scheduled = state {
            let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
            editorial
                .act(
                    &mut conn,
                    &who,
                    id,
                    Some(version),
                    WorkflowAction::SchedulePublish,
                    Arguments {
                        at: Some(at),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
        }
        if let State::TwoVersions = state {
            let patch = Patch::Tag(LabelPatch {
                name: Some(format!("{name} renamed")),
                slug: None,
            });
            editorial
                .update(&mut conn, &who, id, version, &patch, "")
                .await
                .unwrap();
            version += 1;
        }
        Item {
            id: encode(NodeType::Tag, id).to_string(),
            version,
        }
    }
}
