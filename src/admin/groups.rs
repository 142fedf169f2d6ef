//! Administrative rules for pool groups (Cognito's `CreateGroup`, membership), pools
//! made with a Cognito-shaped id, and finding a domain's pool.

use super::error::{AdminError, AdminResult};
use super::service::{Admin, PoolInfo};
use crate::model::{DomainRecord, Group, Pool, PoolSettings};
use crate::store::{CasOutcome, MembershipOutcome};

/// Attempts of a group's compare-and-set before a `Conflict`.
const GROUP_CAS_ATTEMPTS: usize = 8;

/// Cognito's rules for a group name: 1 to 128 characters, no control characters.
pub fn valid_group_name(name: &str) -> bool {
    (1..=128).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}

/// What a group is made or changed with (`None` in a change keeps the value).
#[derive(Clone, Debug, Default)]
pub struct GroupInput {
    pub description: Option<String>,
    pub precedence: Option<i64>,
    pub role_arn: Option<String>,
}

fn check_group(name: &str, g: &GroupInput) -> AdminResult<()> {
    let mut problems = Vec::new();
    if !valid_group_name(name) {
        problems.push("group name: 1 to 128 characters".to_owned());
    }
    if g.description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2048)
    {
        problems.push("description: at most 2048 characters".to_owned());
    }
    if g.precedence
        .is_some_and(|p| !(0..=2_147_483_647).contains(&p))
    {
        problems.push("precedence: 0 to 2147483647".to_owned());
    }
    if let Some(arn) = &g.role_arn
        && (arn.len() < 20 || arn.len() > 2048 || !arn.starts_with("arn:"))
    {
        problems.push("role ARN: an IAM role ARN (arn:...)".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Invalid(problems))
    }
}

/// Nine letters and digits, as the part of a Cognito pool id after the region.
fn pool_suffix() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 9];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        bytes.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..9]);
    }
    bytes
        .iter()
        .map(|b| char::from(ALNUM[usize::from(*b) % ALNUM.len()]))
        .collect()
}

impl Admin {
    /// The current time of the service's clock (unix seconds).
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A pool with a Cognito-shaped id `{region}_{9 letters/digits}` and a name
    /// (`CreateUserPool`); it has no domain until one is added.
    pub async fn create_named_pool(
        &self,
        region: &str,
        name: &str,
        mut settings: PoolSettings,
    ) -> AdminResult<PoolInfo> {
        if name.trim().is_empty() || name.chars().count() > 128 {
            return Err(AdminError::invalid("pool name: 1 to 128 characters"));
        }
        let region_ok = (1..=32).contains(&region.len())
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(AdminError::invalid("region: not a region name"));
        }
        super::bodies::validate_settings(&settings).map_err(AdminError::Invalid)?;
        settings.name = Some(name.to_owned());
        super::bodies::validate_settings(&settings).map_err(AdminError::Invalid)?;
        // A collision of 62^9 ids is retried, never reported.
        for _ in 0..3 {
            let mut pool = Pool {
                id: format!("{region}_{}", pool_suffix()),
                settings: settings.clone(),
                created_at: self.clock.now(),
                hook_secret: None,
            };
            // A `LambdaConfig` is checked, and its secret made (the Cognito API never
            // shows it; `/admin/v1`'s hook-secret/rotate does).
            let new_hook_secret = super::hooks::prepare(&mut pool).map_err(AdminError::Invalid)?;
            match self.store.create_pool(&pool).await {
                Ok(()) => {
                    return Ok(PoolInfo {
                        pool,
                        domains: Vec::new(),
                        new_hook_secret,
                    });
                }
                Err(crate::store::StoreError::AlreadyExists(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AdminError::Conflict("could not pick a free pool id".into()))
    }

    /// The record of a domain, whichever pool owns it.
    pub async fn find_domain(&self, domain: &str) -> AdminResult<DomainRecord> {
        self.store
            .get_domain(&domain.to_ascii_lowercase())
            .await?
            .ok_or(AdminError::NotFound("the domain"))
    }

    pub async fn create_group(&self, pool: &str, name: &str, g: GroupInput) -> AdminResult<Group> {
        self.pool(pool).await?;
        check_group(name, &g)?;
        let now = self.clock.now();
        let group = Group {
            pool_id: pool.to_owned(),
            name: name.to_owned(),
            description: g.description,
            precedence: g.precedence,
            role_arn: g.role_arn,
            created_at: now,
            updated_at: now,
        };
        self.store.create_group(&group).await?;
        Ok(group)
    }

    pub async fn get_group(&self, pool: &str, name: &str) -> AdminResult<Group> {
        self.store
            .get_group(pool, name)
            .await?
            .ok_or(AdminError::NotFound("the group"))
    }

    pub async fn list_groups(&self, pool: &str) -> AdminResult<Vec<Group>> {
        self.pool(pool).await?;
        Ok(self.store.list_groups(pool).await?)
    }

    /// Changes the given fields; the others keep their values.
    pub async fn update_group(&self, pool: &str, name: &str, g: GroupInput) -> AdminResult<Group> {
        check_group(name, &g)?;
        // Compare-and-set, retried: fields another update sets meanwhile are kept.
        let mut current = self.get_group(pool, name).await?;
        for _ in 0..GROUP_CAS_ATTEMPTS {
            let mut group = current.clone();
            if g.description.is_some() {
                group.description.clone_from(&g.description);
            }
            if g.precedence.is_some() {
                group.precedence = g.precedence;
            }
            if g.role_arn.is_some() {
                group.role_arn.clone_from(&g.role_arn);
            }
            group.updated_at = self.clock.now().max(group.updated_at);
            match self.store.update_group_if(&current, &group).await? {
                CasOutcome::Written => return Ok(group),
                CasOutcome::Changed(stored) => current = *stored,
                CasOutcome::Missing => return Err(AdminError::NotFound("the group")),
            }
        }
        Err(AdminError::Conflict(
            "the group was changed concurrently; try again".to_owned(),
        ))
    }

    pub async fn delete_group(&self, pool: &str, name: &str) -> AdminResult<()> {
        if !self.store.delete_group(pool, name).await? {
            return Err(AdminError::NotFound("the group"));
        }
        Ok(())
    }

    /// Adds the user named `username` to the group (nothing changes when it is in).
    pub async fn add_user_to_group(
        &self,
        pool: &str,
        username: &str,
        group: &str,
    ) -> AdminResult<()> {
        let u = self.get_user(pool, username).await?;
        match self.store.add_to_group(pool, group, &u.user.id).await? {
            MembershipOutcome::Added | MembershipOutcome::AlreadyMember => Ok(()),
            MembershipOutcome::NoSuchGroup => Err(AdminError::NotFound("the group")),
            MembershipOutcome::NoSuchUser => Err(AdminError::NotFound("the user")),
        }
    }

    pub async fn remove_user_from_group(
        &self,
        pool: &str,
        username: &str,
        group: &str,
    ) -> AdminResult<()> {
        let u = self.get_user(pool, username).await?;
        self.get_group(pool, group).await?;
        self.store
            .remove_from_group(pool, group, &u.user.id)
            .await?;
        Ok(())
    }

    pub async fn groups_of_user(&self, pool: &str, username: &str) -> AdminResult<Vec<Group>> {
        let u = self.get_user(pool, username).await?;
        Ok(self.store.groups_of_user(pool, &u.user.id).await?)
    }

    /// The users in a group, by id.
    pub async fn users_in_group(
        &self,
        pool: &str,
        group: &str,
    ) -> AdminResult<Vec<super::UserInfo>> {
        self.get_group(pool, group).await?;
        let mut out = Vec::new();
        for id in self.store.group_members(pool, group).await? {
            if let Some((user, links)) = self.store.get_user_with_identities(pool, &id).await? {
                let status = self
                    .store
                    .get_credential(pool, &id)
                    .await?
                    .map(|c| c.status);
                out.push(super::UserInfo {
                    user,
                    links,
                    status,
                });
            }
        }
        Ok(out)
    }
}
