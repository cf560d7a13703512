//! Plan → ELBv2: the only code that changes targets. Registers before it deregisters
//! (make-before-break), in batches; when a registration fails, only the targets that must
//! leave whatever happens (not the stale ones awaiting their successor) are deregistered.

use crate::adapters::aws::elb::{ElbError, Targets};
use crate::domain::plan::{Plan, Reason, Target};

/// Applies a plan to one target group: all registrations first, then deregistrations of
/// exactly the targets DescribeTargetHealth reported (Id, Port and AZ as registered).
pub async fn apply(
    targets: &dyn Targets,
    target_group_arn: &str,
    plan: &Plan,
) -> Result<(), ElbError> {
    let register: Vec<Target> = plan.register.iter().map(|c| c.target.clone()).collect();
    let deregister: Vec<Target> = plan.deregister.iter().map(|c| c.target.clone()).collect();
    if !register.is_empty() {
        if let Err(e) = targets.register(target_group_arn, &register).await {
            // Make-before-break keeps a stale target while its successor is not in; a target
            // that must leave whatever happens (another database's address now, refused, the
            // database gone) still leaves, so a full NLB never keeps a route pointing at
            // another database.
            let forced: Vec<Target> = plan
                .deregister
                .iter()
                .filter(|c| c.reason != Reason::Stale)
                .map(|c| c.target.clone())
                .collect();
            if !forced.is_empty() {
                targets.deregister(target_group_arn, &forced).await?;
            }
            return Err(e);
        }
    }
    if !deregister.is_empty() {
        targets.deregister(target_group_arn, &deregister).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::health::TargetHealth;
    use crate::domain::plan::Change;
    use std::sync::Mutex;

    /// Fault injection: RegisterTargets always fails; deregistrations are recorded.
    #[derive(Default)]
    struct FullNlb(Mutex<Vec<Target>>);

    #[async_trait::async_trait]
    impl Targets for FullNlb {
        async fn describe_targets(&self, _: &str) -> Result<Vec<TargetHealth>, ElbError> {
            Ok(vec![])
        }
        async fn register(&self, _: &str, _: &[Target]) -> Result<(), ElbError> {
            Err(ElbError {
                operation: "RegisterTargets",
                code: Some("TooManyTargets".into()),
                message: "full".into(),
            })
        }
        async fn deregister(&self, _: &str, t: &[Target]) -> Result<(), ElbError> {
            self.0.lock().unwrap().extend_from_slice(t);
            Ok(())
        }
    }

    fn change(ip: &str, reason: Reason) -> Change {
        Change {
            target: Target {
                ip: ip.parse().unwrap(),
                port: 5432,
                availability_zone: None,
            },
            reason,
        }
    }

    #[tokio::test]
    async fn a_failed_registration_still_removes_what_must_leave_and_keeps_stale_targets() {
        let plan = Plan {
            register: vec![change("10.1.7.7", Reason::Resolved)],
            deregister: vec![
                change("10.1.2.3", Reason::Stale),
                change("10.1.2.4", Reason::IpReused),
                change("10.1.2.5", Reason::NotAllowed),
            ],
            ..Plan::default()
        };
        let nlb = FullNlb::default();
        let err = apply(&nlb, "tg", &plan).await.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("TooManyTargets"));
        let left: Vec<String> = nlb
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|t| t.ip.to_string())
            .collect();
        assert_eq!(left, ["10.1.2.4", "10.1.2.5"]);
    }
}
