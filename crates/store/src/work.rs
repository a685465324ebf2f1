//! Work on incidents: tasks, investigations, countermeasures, links and merges, and
//! the record of deadline notices sent. Implemented by both backends through
//! [`crate::work_sql`].

use crate::{Actor, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rampart_core::incident::{CountermeasureStatus, InvestigationStatus};
use rampart_core::work::{Countermeasure, CountermeasureKind, Investigation, Task};
use uuid::Uuid;

#[async_trait]
pub trait WorkStore: Send + Sync {
    async fn add_task(
        &self,
        actor: &Actor,
        incident_id: Uuid,
        title: &str,
        assignee_id: Option<Uuid>,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<Task>;
    async fn tasks(&self, incident_id: Uuid) -> Result<Vec<Task>>;
    async fn get_task(&self, id: Uuid) -> Result<Option<Task>>;
    /// Marks a task done (or not done again).
    async fn set_task_done(&self, actor: &Actor, task_id: Uuid, done: bool) -> Result<Task>;

    async fn add_investigation(
        &self,
        actor: &Actor,
        incident_id: Uuid,
        party: &str,
        contact: Option<&str>,
        org_id: Option<Uuid>,
    ) -> Result<Investigation>;
    async fn investigations(&self, incident_id: Uuid) -> Result<Vec<Investigation>>;
    async fn get_investigation(&self, id: Uuid) -> Result<Option<Investigation>>;
    async fn set_investigation_status(&self, actor: &Actor, id: Uuid, status: InvestigationStatus) -> Result<Investigation>;

    async fn add_countermeasure(&self, actor: &Actor, incident_id: Uuid, kind: CountermeasureKind, target: &str) -> Result<Countermeasure>;
    async fn countermeasures(&self, incident_id: Uuid) -> Result<Vec<Countermeasure>>;
    async fn get_countermeasure(&self, id: Uuid) -> Result<Option<Countermeasure>>;
    /// Moves a countermeasure along its lifecycle (`pending_activation → active → pending_removal → removed`).
    async fn set_countermeasure_status(&self, actor: &Actor, id: Uuid, status: CountermeasureStatus) -> Result<Countermeasure>;

    /// Records that two incidents are related (both ways).
    async fn link_incidents(&self, actor: &Actor, a: Uuid, b: Uuid) -> Result<()>;
    async fn linked_incidents(&self, id: Uuid) -> Result<Vec<Uuid>>;
    /// Folds `from` into `into`: its reports, observables and evidence move over, and
    /// `from` is closed with a pointer to `into`.
    async fn merge_incident(&self, actor: &Actor, from: Uuid, into: Uuid) -> Result<()>;

    async fn create_team(&self, actor: &Actor, name: &str) -> Result<rampart_core::work::Team>;
    async fn teams(&self) -> Result<Vec<rampart_core::work::Team>>;
    async fn add_team_member(&self, actor: &Actor, team_id: Uuid, user_id: Uuid) -> Result<rampart_core::work::Team>;

    /// Records a deadline notice; `false` if this notice was sent already.
    async fn record_notice(&self, incident_id: Uuid, regime: &str, obligation: &str, kind: &str, due_at: DateTime<Utc>) -> Result<bool>;
}
