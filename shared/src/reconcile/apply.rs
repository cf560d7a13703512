//! Plan → ELBv2: the only code that changes targets. Registers before it deregisters
//! (make-before-break), in batches.

use crate::adapters::aws::elb::{ElbError, Targets};
use crate::domain::plan::{Plan, Target};

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
        targets.register(target_group_arn, &register).await?;
    }
    if !deregister.is_empty() {
        targets.deregister(target_group_arn, &deregister).await?;
    }
    Ok(())
}
