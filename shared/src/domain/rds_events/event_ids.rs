//! Every RDS event ID documented for DB instances, DB clusters, RDS Proxy and Blue/Green
//! deployments, with what the router does about it. Sources: "Amazon RDS event categories and
//! event messages", RDS User Guide
//! <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html>, and
//! "Amazon RDS event categories and event messages for Aurora", Aurora User Guide
//! <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Events.Messages.html>
//! (current text, read from a stored copy of docs.aws.amazon.com); plus the last public
//! GitHub copies of both pages, awsdocs/amazon-rds-user-guide and
//! awsdocs/amazon-aurora-user-guide, doc_source/USER_Events.Messages.md (June 2023), for IDs
//! since dropped from the pages. Each group comment names the page(s) the IDs come from:
//! "RDS UG", "Aurora UG", "RDS+Aurora UGs", or "awsdocs 2023 copies only". Rows are sorted by
//! source type, then ID; a group comment appears whenever the category or source changes.
//! (checked 2026-11-30)

use super::Action;

/// (event ID, source type, action, what the event says / why this action)
pub const EVENT_IDS: &[(&str, &str, Action, &str)] = &[
    // Blue/Green deployment — creation (RDS+Aurora UGs)
    (
        "RDS-EVENT-0244",
        "blue-green-deployment",
        Action::Ignore,
        "Blue/green deployment tasks completed; green databases report their own events",
    ),
    // Blue/Green deployment — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0245",
        "blue-green-deployment",
        Action::Ignore,
        "Creation of blue/green deployment failed; blue databases untouched",
    ),
    // Blue/Green deployment — deletion (RDS+Aurora UGs)
    (
        "RDS-EVENT-0246",
        "blue-green-deployment",
        Action::Ignore,
        "Blue/green deployment deleted; the deployment, not a database",
    ),
    // Blue/Green deployment — notification (RDS+Aurora UGs)
    (
        "RDS-EVENT-0247",
        "blue-green-deployment",
        Action::Ignore,
        "Switchover from blue to green started; logged, names move only on completion",
    ),
    (
        "RDS-EVENT-0248",
        "blue-green-deployment",
        Action::Move,
        "Switchover completed on blue/green deployment",
    ),
    // Blue/Green deployment — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0249",
        "blue-green-deployment",
        Action::Reresolve,
        "Switchover canceled on blue/green deployment",
    ),
    // Blue/Green deployment — notification (RDS UG)
    (
        "RDS-EVENT-0250",
        "blue-green-deployment",
        Action::Ignore,
        "Switchover from primary/read replica blue to green started; logged",
    ),
    (
        "RDS-EVENT-0251",
        "blue-green-deployment",
        Action::Move,
        "Switchover from primary/read replica completed; renamed blue to blue-old, green to blue",
    ),
    // Blue/Green deployment — failure (RDS UG)
    (
        "RDS-EVENT-0252",
        "blue-green-deployment",
        Action::Reresolve,
        "Switchover from primary/read replica blue to green was canceled",
    ),
    // Blue/Green deployment — notification (Aurora UG)
    (
        "RDS-EVENT-0259",
        "blue-green-deployment",
        Action::Ignore,
        "Switchover from DB cluster blue to green started; logged",
    ),
    (
        "RDS-EVENT-0260",
        "blue-green-deployment",
        Action::Move,
        "Switchover from DB cluster completed; renamed blue to blue-old, green to blue",
    ),
    // Blue/Green deployment — failure (Aurora UG)
    (
        "RDS-EVENT-0261",
        "blue-green-deployment",
        Action::Reresolve,
        "Switchover from DB cluster blue to green was canceled",
    ),
    // Blue/Green deployment — notification (RDS UG)
    (
        "RDS-EVENT-0307",
        "blue-green-deployment",
        Action::Ignore,
        "Sequence sync for switchover of blue to green has initiated; pre-switchover step",
    ),
    (
        "RDS-EVENT-0308",
        "blue-green-deployment",
        Action::Ignore,
        "Sequence sync for switchover of blue to green has completed; pre-switchover step",
    ),
    // Blue/Green deployment — failure (RDS UG)
    (
        "RDS-EVENT-0310",
        "blue-green-deployment",
        Action::Reresolve,
        "Sequence sync for switchover of blue to green was cancelled; switchover canceled",
    ),
    // Blue/Green deployment — notification (Aurora UG)
    (
        "RDS-EVENT-0311",
        "blue-green-deployment",
        Action::Ignore,
        "Sequence sync for switchover of DB cluster blue to green initiated; pre-switchover",
    ),
    (
        "RDS-EVENT-0312",
        "blue-green-deployment",
        Action::Ignore,
        "Sequence sync for switchover of DB cluster blue to green completed; pre-switchover",
    ),
    // Blue/Green deployment — failure (Aurora UG)
    (
        "RDS-EVENT-0314",
        "blue-green-deployment",
        Action::Reresolve,
        "Sequence sync for switchover of DB cluster was cancelled; switchover canceled",
    ),
    // Blue/Green deployment — notification (RDS UG)
    (
        "RDS-EVENT-0405",
        "blue-green-deployment",
        Action::Ignore,
        "Your storage volumes are being initialized; green storage warm-up",
    ),
    (
        "RDS-EVENT-0406",
        "blue-green-deployment",
        Action::Ignore,
        "Your storage volumes have been initialized; green storage warm-up",
    ),
    // Blue/Green deployment — notification (RDS+Aurora UGs)
    (
        "RDS-EVENT-0409",
        "blue-green-deployment",
        Action::Ignore,
        "`message`; free-text notice, switchover outcomes have their own IDs",
    ),
    // DB cluster — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0016",
        "db-cluster",
        Action::Ignore,
        "Reset master credentials; credentials only",
    ),
    // DB cluster — failover (RDS+Aurora UGs)
    (
        "RDS-EVENT-0069",
        "db-cluster",
        Action::Reresolve,
        "Cluster failover failed; writer probably unchanged",
    ),
    (
        "RDS-EVENT-0070",
        "db-cluster",
        Action::Move,
        "Promoting previous primary again: name",
    ),
    (
        "RDS-EVENT-0071",
        "db-cluster",
        Action::Move,
        "Completed failover to DB instance: name",
    ),
    (
        "RDS-EVENT-0072",
        "db-cluster",
        Action::Move,
        "Started same AZ failover to DB instance: name",
    ),
    (
        "RDS-EVENT-0073",
        "db-cluster",
        Action::Move,
        "Started cross AZ failover to DB instance: name",
    ),
    // DB cluster — notification (Aurora UG)
    (
        "RDS-EVENT-0076",
        "db-cluster",
        Action::Ignore,
        "Failed to migrate from name to name; migration into Aurora",
    ),
    (
        "RDS-EVENT-0077",
        "db-cluster",
        Action::Ignore,
        "Failed to convert name.name to InnoDB; migration into Aurora",
    ),
    // DB cluster — failure (Aurora UG)
    (
        "RDS-EVENT-0083",
        "db-cluster",
        Action::Ignore,
        "Unable to create credentials to access your Amazon S3 bucket; import setup",
    ),
    // DB cluster — notification (Aurora UG)
    (
        "RDS-EVENT-0085",
        "db-cluster",
        Action::Ignore,
        "Unable to upgrade DB cluster because of an instance's status; nothing changed",
    ),
    (
        "RDS-EVENT-0141",
        "db-cluster",
        Action::Ignore,
        "Scaling DB cluster from units to units (Aurora Serverless v1); capacity only",
    ),
    (
        "RDS-EVENT-0142",
        "db-cluster",
        Action::Ignore,
        "The DB cluster has scaled from units to units (Aurora Serverless v1)",
    ),
    // DB cluster — failure (Aurora UG)
    (
        "RDS-EVENT-0143",
        "db-cluster",
        Action::Ignore,
        "The DB cluster failed to scale (Aurora Serverless v1); capacity only",
    ),
    // DB cluster — notification (Aurora UG)
    (
        "RDS-EVENT-0144",
        "db-cluster",
        Action::Ignore,
        "The DB cluster is being paused (Aurora Serverless v1)",
    ),
    (
        "RDS-EVENT-0145",
        "db-cluster",
        Action::Ignore,
        "The DB cluster is paused (Aurora Serverless v1)",
    ),
    (
        "RDS-EVENT-0146",
        "db-cluster",
        Action::Ignore,
        "Pause was canceled for the DB cluster (Aurora Serverless v1)",
    ),
    (
        "RDS-EVENT-0147",
        "db-cluster",
        Action::Ignore,
        "The DB cluster is being resumed (Aurora Serverless v1)",
    ),
    (
        "RDS-EVENT-0148",
        "db-cluster",
        Action::Ignore,
        "The DB cluster is resumed (Aurora Serverless v1)",
    ),
    (
        "RDS-EVENT-0149",
        "db-cluster",
        Action::Ignore,
        "Scaled from units to units, but scaling wasn't seamless (Serverless v1)",
    ),
    (
        "RDS-EVENT-0150",
        "db-cluster",
        Action::Reresolve,
        "DB cluster stopped",
    ),
    (
        "RDS-EVENT-0151",
        "db-cluster",
        Action::Move,
        "DB cluster started",
    ),
    (
        "RDS-EVENT-0152",
        "db-cluster",
        Action::Ignore,
        "DB cluster stop failed; cluster keeps running",
    ),
    (
        "RDS-EVENT-0153",
        "db-cluster",
        Action::Reresolve,
        "DB cluster is being started due to exceeding the maximum allowed stopped time",
    ),
    // DB cluster — maintenance (RDS+Aurora UGs)
    (
        "RDS-EVENT-0156",
        "db-cluster",
        Action::Ignore,
        "The DB cluster has a DB engine minor version upgrade available; notice",
    ),
    // DB cluster — creation (RDS+Aurora UGs)
    (
        "RDS-EVENT-0170",
        "db-cluster",
        Action::Created,
        "DB cluster created",
    ),
    // DB cluster — deletion (Aurora UG)
    (
        "RDS-EVENT-0171",
        "db-cluster",
        Action::Deleted,
        "DB cluster deleted",
    ),
    // DB cluster — notification (RDS+Aurora UGs)
    (
        "RDS-EVENT-0172",
        "db-cluster",
        Action::Move,
        "Renamed cluster from name to name; the endpoint names change",
    ),
    // DB cluster — maintenance (RDS+Aurora UGs)
    (
        "RDS-EVENT-0173",
        "db-cluster",
        Action::Reresolve,
        "Database cluster engine version has been upgraded",
    ),
    (
        "RDS-EVENT-0174",
        "db-cluster",
        Action::Ignore,
        "Database cluster is in a state that cannot be upgraded; nothing changed",
    ),
    (
        "RDS-EVENT-0176",
        "db-cluster",
        Action::Reresolve,
        "Database cluster engine major version has been upgraded",
    ),
    (
        "RDS-EVENT-0177",
        "db-cluster",
        Action::Ignore,
        "Database cluster upgrade is in progress; completion has its own ID",
    ),
    // DB cluster — configuration change (Aurora UG)
    (
        "RDS-EVENT-0179",
        "db-cluster",
        Action::Ignore,
        "Database Activity Streams is started on your database cluster; auditing",
    ),
    (
        "RDS-EVENT-0180",
        "db-cluster",
        Action::Ignore,
        "Database Activity Streams is stopped on your database cluster; auditing",
    ),
    // DB cluster — global failover (Aurora UG)
    (
        "RDS-EVENT-0181",
        "db-cluster",
        Action::Reresolve,
        "Global switchover to DB cluster name in Region name started",
    ),
    (
        "RDS-EVENT-0182",
        "db-cluster",
        Action::Reresolve,
        "Old primary DB cluster name in Region name successfully shut down",
    ),
    (
        "RDS-EVENT-0183",
        "db-cluster",
        Action::Ignore,
        "Waiting for data synchronization across global cluster members; lag notice",
    ),
    (
        "RDS-EVENT-0184",
        "db-cluster",
        Action::Move,
        "New primary DB cluster name in Region name was successfully promoted",
    ),
    (
        "RDS-EVENT-0185",
        "db-cluster",
        Action::Move,
        "Global switchover to DB cluster name in Region name finished",
    ),
    (
        "RDS-EVENT-0186",
        "db-cluster",
        Action::Reresolve,
        "Global switchover to DB cluster name in Region name is cancelled",
    ),
    (
        "RDS-EVENT-0187",
        "db-cluster",
        Action::Reresolve,
        "Global switchover to DB cluster name in Region name failed",
    ),
    // DB cluster — notification (Aurora UG)
    (
        "RDS-EVENT-0234",
        "db-cluster",
        Action::Ignore,
        "Export task failed; export only",
    ),
    (
        "RDS-EVENT-0235",
        "db-cluster",
        Action::Ignore,
        "Export task canceled; export only",
    ),
    (
        "RDS-EVENT-0236",
        "db-cluster",
        Action::Ignore,
        "Export task completed; export only",
    ),
    // DB cluster — global failover (Aurora UG)
    (
        "RDS-EVENT-0238",
        "db-cluster",
        Action::Move,
        "Global failover to DB cluster name in Region name completed",
    ),
    (
        "RDS-EVENT-0239",
        "db-cluster",
        Action::Reresolve,
        "Global failover to DB cluster name in Region name failed",
    ),
    (
        "RDS-EVENT-0240",
        "db-cluster",
        Action::Ignore,
        "Started resynchronizing members of DB cluster after global failover; 0241 follows",
    ),
    (
        "RDS-EVENT-0241",
        "db-cluster",
        Action::Reresolve,
        "Finished resynchronizing members of DB cluster after global failover",
    ),
    // DB cluster — maintenance (RDS+Aurora UGs)
    (
        "RDS-EVENT-0286",
        "db-cluster",
        Action::Ignore,
        "Database cluster engine version upgrade started. Cluster remains online",
    ),
    (
        "RDS-EVENT-0287",
        "db-cluster",
        Action::Ignore,
        "Operating system upgrade requirement detected; notice",
    ),
    (
        "RDS-EVENT-0288",
        "db-cluster",
        Action::Ignore,
        "Cluster operating system upgrade starting; completion has its own ID",
    ),
    (
        "RDS-EVENT-0289",
        "db-cluster",
        Action::Reresolve,
        "Cluster operating system upgrade completed",
    ),
    (
        "RDS-EVENT-0290",
        "db-cluster",
        Action::Reresolve,
        "Database cluster has been patched: source version => new version",
    ),
    // DB cluster — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0354",
        "db-cluster",
        Action::Ignore,
        "You can't create the DB cluster because of incompatible resources; never created",
    ),
    (
        "RDS-EVENT-0355",
        "db-cluster",
        Action::Ignore,
        "DB cluster can't be created: insufficient resource limits; never created",
    ),
    // DB cluster — maintenance (Aurora UG)
    (
        "RDS-EVENT-0363",
        "db-cluster",
        Action::Ignore,
        "Upgrade preparation in progress; prechecks only",
    ),
    // DB cluster — notification (Aurora UG)
    (
        "RDS-EVENT-0386",
        "db-cluster",
        Action::Ignore,
        "DB instances in DB cluster have been partitioned. DB cluster is online",
    ),
    // DB cluster — failure (Aurora UG)
    (
        "RDS-EVENT-0387",
        "db-cluster",
        Action::Ignore,
        "Failed to partition DB instances in DB cluster for patching; nothing changed",
    ),
    // DB cluster — maintenance (Aurora UG)
    (
        "RDS-EVENT-0388",
        "db-cluster",
        Action::Reresolve,
        "Starting offline patches to DB instances in partition; readers go offline",
    ),
    (
        "RDS-EVENT-0389",
        "db-cluster",
        Action::Ignore,
        "We were unable to upgrade your DB cluster operating system; nothing changed",
    ),
    // DB cluster — global failover (Aurora UG)
    (
        "RDS-EVENT-0397",
        "db-cluster",
        Action::Move,
        "Aurora finished changing the DNS name that the global writer endpoint resolves to",
    ),
    // DB cluster — maintenance (RDS UG)
    (
        "RDS-EVENT-0410",
        "db-cluster",
        Action::Ignore,
        "The pre-check started for the database cluster engine version upgrade",
    ),
    // DB cluster — read replica (RDS UG)
    (
        "RDS-EVENT-0411",
        "db-cluster",
        Action::Ignore,
        "The pre-check finished for the database cluster engine version upgrade",
    ),
    // DB cluster — maintenance (RDS UG)
    (
        "RDS-EVENT-0412",
        "db-cluster",
        Action::Ignore,
        "The pre-check for the cluster engine version upgrade failed or timed out",
    ),
    (
        "RDS-EVENT-0413",
        "db-cluster",
        Action::Ignore,
        "The DB cluster pre-upgrade tasks are in progress",
    ),
    (
        "RDS-EVENT-0414",
        "db-cluster",
        Action::Ignore,
        "The DB cluster post-upgrade tasks are in progress",
    ),
    (
        "RDS-EVENT-0417",
        "db-cluster",
        Action::Ignore,
        "Database cluster engine version upgrade started; completion has its own ID",
    ),
    // DB cluster — global failover (Aurora UG)
    (
        "RDS-EVENT-0423",
        "db-cluster",
        Action::Ignore,
        "Waiting for data synchronization with the target DB cluster; lag notice",
    ),
    // DB cluster — maintenance (Aurora UG)
    (
        "RDS-EVENT-0424",
        "db-cluster",
        Action::Ignore,
        "DB cluster runs a version higher than the global cluster target; advice",
    ),
    // DB cluster — notification (Aurora UG)
    (
        "RDS-EVENT-0426",
        "db-cluster",
        Action::Ignore,
        "RDS can't configure the DB cluster as a replication source; nothing changed",
    ),
    (
        "RDS-EVENT-0512",
        "db-cluster",
        Action::Ignore,
        "Volume replacement for DB cluster name started; completion has its own ID",
    ),
    (
        "RDS-EVENT-0513",
        "db-cluster",
        Action::Reresolve,
        "Volume replacement for DB cluster name completed",
    ),
    // DB instance — backup (RDS UG)
    (
        "RDS-EVENT-0001",
        "db-instance",
        Action::Ignore,
        "Backing up DB instance; backup",
    ),
    (
        "RDS-EVENT-0002",
        "db-instance",
        Action::Ignore,
        "Finished DB instance backup; backup",
    ),
    // DB instance — deletion (RDS+Aurora UGs)
    (
        "RDS-EVENT-0003",
        "db-instance",
        Action::Deleted,
        "DB instance deleted",
    ),
    // DB instance — availability (RDS+Aurora UGs)
    (
        "RDS-EVENT-0004",
        "db-instance",
        Action::Reresolve,
        "DB instance shutdown",
    ),
    // DB instance — creation (RDS+Aurora UGs)
    (
        "RDS-EVENT-0005",
        "db-instance",
        Action::Created,
        "DB instance created",
    ),
    // DB instance — availability (RDS+Aurora UGs)
    (
        "RDS-EVENT-0006",
        "db-instance",
        Action::Reresolve,
        "DB instance restarted",
    ),
    // DB instance — low storage (RDS+Aurora UGs)
    (
        "RDS-EVENT-0007",
        "db-instance",
        Action::Ignore,
        "Allocated storage has been exhausted; low storage",
    ),
    // DB instance — configuration change (awsdocs 2023 copies only)
    (
        "RDS-EVENT-0009",
        "db-instance",
        Action::Ignore,
        "Added security group name to DB instance; security group (EC2-Classic)",
    ),
    (
        "RDS-EVENT-0010",
        "db-instance",
        Action::Ignore,
        "Removed security group name from DB instance; security group (EC2-Classic)",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0011",
        "db-instance",
        Action::Ignore,
        "Updated to use DBParameterGroup name; parameter notice",
    ),
    (
        "RDS-EVENT-0012",
        "db-instance",
        Action::Reresolve,
        "Applying modification to database instance class; the move comes with 0014",
    ),
    // DB instance — failover (RDS UG)
    (
        "RDS-EVENT-0013",
        "db-instance",
        Action::Move,
        "Multi-AZ instance failover started",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0014",
        "db-instance",
        Action::Move,
        "Finished applying modification to DB instance class",
    ),
    // DB instance — failover (RDS UG)
    (
        "RDS-EVENT-0015",
        "db-instance",
        Action::Move,
        "Multi-AZ failover to standby complete - DNS propagation may take a few minutes",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0016",
        "db-instance",
        Action::Ignore,
        "Reset master credentials; credentials only",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0017",
        "db-instance",
        Action::Reresolve,
        "Finished applying modification to allocated storage",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0018",
        "db-instance",
        Action::Ignore,
        "Applying modification to allocated storage; completion is 0017",
    ),
    // DB instance — restoration (RDS+Aurora UGs)
    (
        "RDS-EVENT-0019",
        "db-instance",
        Action::Created,
        "Restored from DB instance name to name (point-in-time restore)",
    ),
    // DB instance — recovery (RDS+Aurora UGs)
    (
        "RDS-EVENT-0020",
        "db-instance",
        Action::Move,
        "Recovery of the DB instance has started",
    ),
    (
        "RDS-EVENT-0021",
        "db-instance",
        Action::Move,
        "Recovery of the DB instance is complete",
    ),
    // DB instance — availability (RDS+Aurora UGs)
    (
        "RDS-EVENT-0022",
        "db-instance",
        Action::Ignore,
        "Error restarting mysql: message; restart failed, same host",
    ),
    // DB instance — recovery (RDS+Aurora UGs)
    (
        "RDS-EVENT-0023",
        "db-instance",
        Action::Ignore,
        "Emergent Snapshot Request: message; snapshot",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0024",
        "db-instance",
        Action::Reresolve,
        "Applying modification to convert to a Multi-AZ DB instance",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0025",
        "db-instance",
        Action::Move,
        "Finished applying modification to convert to a Multi-AZ DB instance",
    ),
    // DB instance — maintenance (RDS+Aurora UGs)
    (
        "RDS-EVENT-0026",
        "db-instance",
        Action::Ignore,
        "Applying off-line patches to DB instance; completion is 0027",
    ),
    (
        "RDS-EVENT-0027",
        "db-instance",
        Action::Reresolve,
        "Finished applying off-line patches to DB instance",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0028",
        "db-instance",
        Action::Ignore,
        "Disabled automated backups; backups",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0029",
        "db-instance",
        Action::Move,
        "Finished applying modification to convert to a standard (Single-AZ) DB instance",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0030",
        "db-instance",
        Action::Reresolve,
        "Applying modification to convert to a standard (Single-AZ) DB instance",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0031",
        "db-instance",
        Action::Ignore,
        "DB instance put into failed state; RDS recommends a point-in-time restore",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0032",
        "db-instance",
        Action::Ignore,
        "Enabled automated backups; backups",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0033",
        "db-instance",
        Action::Ignore,
        "Users matching the master username; only one reset; credentials",
    ),
    // DB instance — failover (RDS UG)
    (
        "RDS-EVENT-0034",
        "db-instance",
        Action::Ignore,
        "Abandoning user requested failover since a failover recently occurred",
    ),
    // DB instance — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0035",
        "db-instance",
        Action::Ignore,
        "Database instance put into state (invalid parameters); address unchanged",
    ),
    (
        "RDS-EVENT-0036",
        "db-instance",
        Action::Ignore,
        "Database instance in incompatible-network state; address unchanged",
    ),
    // DB instance — restoration (awsdocs 2023 copies: a new instance restored from a DB
    // snapshot; treated as its creation, so a source-deleted route comes back)
    (
        "RDS-EVENT-0043",
        "db-instance",
        Action::Created,
        "Restored from snapshot",
    ),
    // DB instance — notification (RDS+Aurora UGs)
    (
        "RDS-EVENT-0044",
        "db-instance",
        Action::Ignore,
        "`message`: operator-issued notification; free text",
    ),
    // DB instance — read replica (RDS+Aurora UGs)
    (
        "RDS-EVENT-0045",
        "db-instance",
        Action::Ignore,
        "Replication has stopped; replication",
    ),
    (
        "RDS-EVENT-0046",
        "db-instance",
        Action::Ignore,
        "Replication for the Read Replica resumed; replication",
    ),
    // DB instance — maintenance (RDS+Aurora UGs)
    (
        "RDS-EVENT-0047",
        "db-instance",
        Action::Reresolve,
        "Database instance patched",
    ),
    // DB instance — notification (RDS+Aurora UGs)
    (
        "RDS-EVENT-0048",
        "db-instance",
        Action::Ignore,
        "Delaying database engine upgrade: read replicas must be upgraded first",
    ),
    // DB instance — failover (RDS UG)
    (
        "RDS-EVENT-0049",
        "db-instance",
        Action::Move,
        "Multi-AZ instance failover completed",
    ),
    (
        "RDS-EVENT-0050",
        "db-instance",
        Action::Move,
        "Multi-AZ instance activation started",
    ),
    (
        "RDS-EVENT-0051",
        "db-instance",
        Action::Move,
        "Multi-AZ instance activation completed",
    ),
    // DB instance — recovery (RDS+Aurora UGs)
    (
        "RDS-EVENT-0052",
        "db-instance",
        Action::Reresolve,
        "Multi-AZ instance recovery started",
    ),
    (
        "RDS-EVENT-0053",
        "db-instance",
        Action::Reresolve,
        "Multi-AZ instance recovery completed. Pending failover or activation",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0054",
        "db-instance",
        Action::Ignore,
        "`message`: MySQL storage engine is not InnoDB; advice",
    ),
    (
        "RDS-EVENT-0055",
        "db-instance",
        Action::Ignore,
        "`message`: number of tables exceeds recommended best practices; advice",
    ),
    (
        "RDS-EVENT-0056",
        "db-instance",
        Action::Ignore,
        "`message`: number of databases exceeds recommended best practices; advice",
    ),
    // DB instance — read replica (RDS+Aurora UGs)
    (
        "RDS-EVENT-0057",
        "db-instance",
        Action::Ignore,
        "Replication streaming has been terminated; replication",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0058",
        "db-instance",
        Action::Ignore,
        "The Statspack installation failed; Oracle option",
    ),
    // DB instance — read replica (RDS UG)
    (
        "RDS-EVENT-0062",
        "db-instance",
        Action::Ignore,
        "Replication for the Read Replica has been manually stopped; replication",
    ),
    (
        "RDS-EVENT-0063",
        "db-instance",
        Action::Ignore,
        "Replication from Non RDS instance has been reset; replication",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0064",
        "db-instance",
        Action::Ignore,
        "The TDE encryption key was rotated successfully; key rotation",
    ),
    // DB instance — failover (RDS UG)
    (
        "RDS-EVENT-0065",
        "db-instance",
        Action::Move,
        "Recovered from partial failover",
    ),
    // DB instance — recovery (RDS UG)
    (
        "RDS-EVENT-0066",
        "db-instance",
        Action::Ignore,
        "Instance degraded while mirroring is reestablished (SQL Server); same host",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0067",
        "db-instance",
        Action::Ignore,
        "Unable to reset your password; credentials",
    ),
    // DB instance — security (RDS UG)
    (
        "RDS-EVENT-0068",
        "db-instance",
        Action::Ignore,
        "Decrypting hsm partition password to update instance; CloudHSM/TDE",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0078",
        "db-instance",
        Action::Ignore,
        "Monitoring Interval changed to number; Enhanced Monitoring",
    ),
    // DB instance — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0079",
        "db-instance",
        Action::Ignore,
        "Unable to create credentials for enhanced monitoring; monitoring",
    ),
    (
        "RDS-EVENT-0080",
        "db-instance",
        Action::Ignore,
        "Unable to configure enhanced monitoring on your instance; monitoring",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0081",
        "db-instance",
        Action::Ignore,
        "Unable to create credentials for option (IAM role); option setup",
    ),
    // DB instance — failure (Aurora UG)
    (
        "RDS-EVENT-0082",
        "db-instance",
        Action::Ignore,
        "Unable to create credentials to access your Amazon S3 bucket; import setup",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0084",
        "db-instance",
        Action::Ignore,
        "Unable to convert the DB instance to Multi-AZ; nothing changed",
    ),
    // DB instance — backup (RDS UG)
    (
        "RDS-EVENT-0086",
        "db-instance",
        Action::Ignore,
        "We are unable to associate the option group with the instance; option group",
    ),
    // DB instance — notification (RDS+Aurora UGs)
    (
        "RDS-EVENT-0087",
        "db-instance",
        Action::Reresolve,
        "DB instance stopped",
    ),
    (
        "RDS-EVENT-0088",
        "db-instance",
        Action::Move,
        "DB instance started",
    ),
    // DB instance — low storage (RDS+Aurora UGs)
    (
        "RDS-EVENT-0089",
        "db-instance",
        Action::Ignore,
        "The free storage capacity for DB instance is low; low storage warning",
    ),
    // DB instance — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0092",
        "db-instance",
        Action::Ignore,
        "Finished updating DB parameter group; parameter notice",
    ),
    // DB instance — backtrack (Aurora UG)
    (
        "RDS-EVENT-0131",
        "db-instance",
        Action::Ignore,
        "Actual Backtrack window smaller than the target window; backtrack notice",
    ),
    (
        "RDS-EVENT-0132",
        "db-instance",
        Action::Ignore,
        "Actual Backtrack window is the same as the target window; backtrack notice",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0154",
        "db-instance",
        Action::Reresolve,
        "DB instance is being started due to exceeding the maximum allowed stopped time",
    ),
    // DB instance — maintenance (RDS+Aurora UGs)
    (
        "RDS-EVENT-0155",
        "db-instance",
        Action::Ignore,
        "The DB instance has a DB engine minor version upgrade available; notice",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0157",
        "db-instance",
        Action::Ignore,
        "Unable to modify the DB instance class; nothing changed",
    ),
    (
        "RDS-EVENT-0158",
        "db-instance",
        Action::Ignore,
        "Database instance is in a state that cannot be upgraded; nothing changed",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0165",
        "db-instance",
        Action::Ignore,
        "The RDS Custom DB instance is outside the support perimeter",
    ),
    // DB instance — recovery (RDS UG)
    (
        "RDS-EVENT-0166",
        "db-instance",
        Action::Ignore,
        "`message`: the RDS Custom DB instance is inside the support perimeter",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0167",
        "db-instance",
        Action::Ignore,
        "`message`: RDS Custom support perimeter configuration has changed",
    ),
    // DB instance — maintenance (RDS+Aurora UGs)
    (
        "RDS-EVENT-0178",
        "db-instance",
        Action::Ignore,
        "Database instance upgrade is in progress; completion has its own ID",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0188",
        "db-instance",
        Action::Ignore,
        "The DB instance is in a state that can't be upgraded; rolled back",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0189",
        "db-instance",
        Action::Ignore,
        "The gp2 burst balance credits for the RDS database instance are low",
    ),
    // DB instance — maintenance, notification (RDS UG)
    (
        "RDS-EVENT-0191",
        "db-instance",
        Action::Ignore,
        "A new version of the time zone file is available for update",
    ),
    (
        "RDS-EVENT-0192",
        "db-instance",
        Action::Ignore,
        "The update of your time zone file has started",
    ),
    (
        "RDS-EVENT-0193",
        "db-instance",
        Action::Ignore,
        "No update is available for the current time zone file version",
    ),
    (
        "RDS-EVENT-0194",
        "db-instance",
        Action::Ignore,
        "The update of your time zone file has finished",
    ),
    // DB instance — maintenance, failure (RDS UG)
    (
        "RDS-EVENT-0195",
        "db-instance",
        Action::Ignore,
        "`message`: the update of the Oracle time zone file failed",
    ),
    // DB instance — read replica (RDS UG)
    (
        "RDS-EVENT-0202",
        "db-instance",
        Action::Ignore,
        "Read replica creation failed; never created",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0217",
        "db-instance",
        Action::Ignore,
        "Applying autoscaling-initiated modification to allocated storage; see 0218",
    ),
    (
        "RDS-EVENT-0218",
        "db-instance",
        Action::Reresolve,
        "Finished applying autoscaling-initiated modification to allocated storage",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0219",
        "db-instance",
        Action::Ignore,
        "DB instance is in an invalid state. Autoscaling will retry later",
    ),
    (
        "RDS-EVENT-0220",
        "db-instance",
        Action::Ignore,
        "DB instance is in the cooling-off period for a previous scale storage operation",
    ),
    // DB instance — availability (RDS UG)
    (
        "RDS-EVENT-0221",
        "db-instance",
        Action::Ignore,
        "Storage-full threshold reached, database shut down; same host, same address",
    ),
    (
        "RDS-EVENT-0222",
        "db-instance",
        Action::Ignore,
        "Free storage capacity for DB instance is low; low storage warning",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0223",
        "db-instance",
        Action::Ignore,
        "Storage autoscaling is unable to scale the storage; storage",
    ),
    (
        "RDS-EVENT-0224",
        "db-instance",
        Action::Ignore,
        "Storage autoscaling task will reach or exceed the maximum storage threshold",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0225",
        "db-instance",
        Action::Ignore,
        "Allocated storage size is approaching the maximum storage threshold",
    ),
    // DB instance — low storage (RDS+Aurora UGs)
    (
        "RDS-EVENT-0227",
        "db-instance",
        Action::Ignore,
        "Your Aurora cluster's storage is dangerously low; low storage warning",
    ),
    // DB instance — security patching (RDS+Aurora UGs)
    (
        "RDS-EVENT-0230",
        "db-instance",
        Action::Ignore,
        "A system update is available for your DB instance; notice",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0231",
        "db-instance",
        Action::Ignore,
        "Storage modification encountered an internal error; will be retried",
    ),
    // DB instance — read replica (RDS UG)
    (
        "RDS-EVENT-0233",
        "db-instance",
        Action::Reresolve,
        "The Switchover to the read replica started; roles swap, instances restart",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0237",
        "db-instance",
        Action::Ignore,
        "Storage type currently unavailable in the AZ. Autoscaling will retry later",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0253",
        "db-instance",
        Action::Ignore,
        "The database is using the doublewrite buffer; Optimized Writes notice",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0254",
        "db-instance",
        Action::Ignore,
        "Underlying storage quota for this customer account has exceeded the limit",
    ),
    // DB instance — maintenance (RDS UG)
    (
        "RDS-EVENT-0264",
        "db-instance",
        Action::Ignore,
        "The pre-check started for the DB engine version upgrade",
    ),
    (
        "RDS-EVENT-0265",
        "db-instance",
        Action::Ignore,
        "The pre-check finished for the DB engine version upgrade",
    ),
    (
        "RDS-EVENT-0266",
        "db-instance",
        Action::Ignore,
        "The downtime started for the DB instance; 0268/0270 follow",
    ),
    (
        "RDS-EVENT-0267",
        "db-instance",
        Action::Ignore,
        "The engine version upgrade started; 0268/0270 follow",
    ),
    (
        "RDS-EVENT-0268",
        "db-instance",
        Action::Reresolve,
        "The engine version upgrade finished",
    ),
    (
        "RDS-EVENT-0269",
        "db-instance",
        Action::Ignore,
        "The post-upgrade tasks are in progress",
    ),
    (
        "RDS-EVENT-0270",
        "db-instance",
        Action::Reresolve,
        "The DB engine version upgrade failed. The rollback succeeded",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0278",
        "db-instance",
        Action::Ignore,
        "The DB instance creation failed; no endpoint to follow",
    ),
    (
        "RDS-EVENT-0279",
        "db-instance",
        Action::Ignore,
        "The promotion of the RDS Custom read replica failed",
    ),
    (
        "RDS-EVENT-0280",
        "db-instance",
        Action::Ignore,
        "RDS Custom couldn't upgrade the DB instance because the pre-check failed",
    ),
    (
        "RDS-EVENT-0281",
        "db-instance",
        Action::Ignore,
        "RDS Custom couldn't modify the DB instance because the pre-check failed",
    ),
    (
        "RDS-EVENT-0282",
        "db-instance",
        Action::Ignore,
        "RDS Custom couldn't modify the DB instance: Elastic IP permissions not correct",
    ),
    (
        "RDS-EVENT-0283",
        "db-instance",
        Action::Ignore,
        "RDS Custom couldn't modify the DB instance: Elastic IP limit reached",
    ),
    (
        "RDS-EVENT-0284",
        "db-instance",
        Action::Ignore,
        "RDS Custom couldn't convert the instance to high availability; pre-check failed",
    ),
    (
        "RDS-EVENT-0285",
        "db-instance",
        Action::Ignore,
        "RDS Custom couldn't create a final snapshot for the DB instance",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0295",
        "db-instance",
        Action::Ignore,
        "Storage configuration upgrade started; completion is 0296",
    ),
    (
        "RDS-EVENT-0296",
        "db-instance",
        Action::Reresolve,
        "Storage configuration upgrade completed",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0297",
        "db-instance",
        Action::Ignore,
        "Storage configuration supports a maximum size of 16384 GiB; advice",
    ),
    (
        "RDS-EVENT-0298",
        "db-instance",
        Action::Ignore,
        "Storage configuration supports a maximum table size of 2048 GiB; advice",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0306",
        "db-instance",
        Action::Ignore,
        "Storage configuration upgrade failed. Please retry the upgrade",
    ),
    (
        "RDS-EVENT-0315",
        "db-instance",
        Action::Ignore,
        "Unable to move incompatible-network database to the available status",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0327",
        "db-instance",
        Action::Ignore,
        "Amazon RDS could not find the secret SECRET ARN; credentials",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0328",
        "db-instance",
        Action::Ignore,
        "Failed to join a host to a domain; domain membership",
    ),
    (
        "RDS-EVENT-0329",
        "db-instance",
        Action::Ignore,
        "Failed to join a host to your domain (Windows error code); domain membership",
    ),
    // DB instance — availability (RDS UG)
    (
        "RDS-EVENT-0330",
        "db-instance",
        Action::Ignore,
        "Free storage of the dedicated transaction log volume too low; warning",
    ),
    (
        "RDS-EVENT-0331",
        "db-instance",
        Action::Ignore,
        "Free storage of the dedicated transaction log volume too low; warning",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0332",
        "db-instance",
        Action::Reresolve,
        "The dedicated log volume is disabled",
    ),
    (
        "RDS-EVENT-0333",
        "db-instance",
        Action::Ignore,
        "Disabling the dedicated log volume has started; completion is 0332",
    ),
    (
        "RDS-EVENT-0334",
        "db-instance",
        Action::Ignore,
        "Enabling the dedicated log volume has started; completion is 0335",
    ),
    (
        "RDS-EVENT-0335",
        "db-instance",
        Action::Reresolve,
        "The dedicated log volume is enabled",
    ),
    // DB instance — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0353",
        "db-instance",
        Action::Ignore,
        "The DB instance can't be created: insufficient resource limits; never created",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0356",
        "db-instance",
        Action::Ignore,
        "RDS was unable to configure the Kerberos endpoint in your domain",
    ),
    // DB instance — read replica (RDS UG)
    (
        "RDS-EVENT-0357",
        "db-instance",
        Action::Ignore,
        "Replication channel name started; replication",
    ),
    (
        "RDS-EVENT-0358",
        "db-instance",
        Action::Ignore,
        "Replication channel name stopped; replication",
    ),
    (
        "RDS-EVENT-0359",
        "db-instance",
        Action::Ignore,
        "Replication channel name was manually stopped; replication",
    ),
    (
        "RDS-EVENT-0360",
        "db-instance",
        Action::Ignore,
        "Replication channel name was reset; replication",
    ),
    // DB instance — recovery (RDS+Aurora UGs)
    (
        "RDS-EVENT-0361",
        "db-instance",
        Action::Ignore,
        "Recovery of standby DB instance has started; primary unchanged",
    ),
    (
        "RDS-EVENT-0362",
        "db-instance",
        Action::Ignore,
        "Recovery of standby DB instance has completed; primary unchanged",
    ),
    // DB instance — notification (RDS+Aurora UGs)
    (
        "RDS-EVENT-0365",
        "db-instance",
        Action::Ignore,
        "Timezone files were updated. Restart your RDS instance; restart is separate",
    ),
    // DB instance — notification, serverless (Aurora UG)
    (
        "RDS-EVENT-0370",
        "db-instance",
        Action::Ignore,
        "Initiated pause for the DB instance (Aurora Serverless v2)",
    ),
    (
        "RDS-EVENT-0371",
        "db-instance",
        Action::Ignore,
        "Pause was canceled for the DB instance (Aurora Serverless v2)",
    ),
    (
        "RDS-EVENT-0372",
        "db-instance",
        Action::Reresolve,
        "Successfully paused the DB instance (Aurora Serverless v2)",
    ),
    (
        "RDS-EVENT-0373",
        "db-instance",
        Action::Ignore,
        "Initiated resume for the DB instance (Aurora Serverless v2); 0374 follows",
    ),
    (
        "RDS-EVENT-0374",
        "db-instance",
        Action::Reresolve,
        "Successfully resumed the DB instance (Aurora Serverless v2)",
    ),
    // DB instance — configuration change (RDS UG)
    (
        "RDS-EVENT-0383",
        "db-instance",
        Action::Ignore,
        "Engine version doesn't support the memcached plugin; upgrade notice",
    ),
    // DB instance — notification (RDS+Aurora UGs)
    (
        "RDS-EVENT-0385",
        "db-instance",
        Action::Move,
        "Cluster topology is updated (DNS changes to the DB cluster for the instance)",
    ),
    // DB instance — notification, global database (Aurora UG)
    (
        "RDS-EVENT-0390",
        "db-instance",
        Action::Ignore,
        "Attempt to block writes for DB cluster succeeded; storage-level fence",
    ),
    (
        "RDS-EVENT-0391",
        "db-instance",
        Action::Ignore,
        "Attempt to block writes for DB cluster timed out; storage-level fence",
    ),
    // DB instance — availability (RDS UG)
    (
        "RDS-EVENT-0396",
        "db-instance",
        Action::Ignore,
        "Reboot scheduled for this read replica in next maintenance window; notice",
    ),
    // DB instance — maintenance (RDS UG)
    (
        "RDS-EVENT-0398",
        "db-instance",
        Action::Ignore,
        "Waiting for the DB engine version upgrade to finish on the primary",
    ),
    (
        "RDS-EVENT-0399",
        "db-instance",
        Action::Ignore,
        "Waiting for the DB engine version upgrade to finish on the read replicas",
    ),
    // DB instance — notification (RDS UG)
    (
        "RDS-EVENT-0403",
        "db-instance",
        Action::Ignore,
        "Critically low on memory; RDS set innodb_buffer_pool_size; parameter",
    ),
    (
        "RDS-EVENT-0404",
        "db-instance",
        Action::Ignore,
        "Critically low on memory; RDS set shared_buffers; parameter",
    ),
    // DB instance — read replica (RDS UG)
    (
        "RDS-EVENT-0415",
        "db-instance",
        Action::Ignore,
        "The upgrade process resumed replication on the read replica",
    ),
    (
        "RDS-EVENT-0416",
        "db-instance",
        Action::Ignore,
        "The upgrade process stopped replication on the read replica",
    ),
    // DB instance — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0418",
        "db-instance",
        Action::Ignore,
        "Amazon RDS is unable to access the KMS encryption key; warning",
    ),
    // DB instance — availability (RDS+Aurora UGs)
    (
        "RDS-EVENT-0419",
        "db-instance",
        Action::Ignore,
        "Unable to access the KMS key; instance inaccessible, address unchanged",
    ),
    // DB instance — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0420",
        "db-instance",
        Action::Ignore,
        "Amazon RDS can now successfully access the KMS encryption key",
    ),
    // DB instance — failure (RDS UG)
    (
        "RDS-EVENT-0421",
        "db-instance",
        Action::Ignore,
        "RDS Custom couldn't convert the DB instance to a Multi-AZ deployment",
    ),
    // DB instance — maintenance (RDS+Aurora UGs)
    (
        "RDS-EVENT-0422",
        "db-instance",
        Action::Move,
        "RDS will replace the host of DB instance due to a pending maintenance action",
    ),
    (
        "RDS-EVENT-0425",
        "db-instance",
        Action::Ignore,
        "RDS can't perform the OS upgrade: no available IP addresses in subnets",
    ),
    (
        "RDS-EVENT-0429",
        "db-instance",
        Action::Ignore,
        "RDS can't perform the OS upgrade: insufficient capacity for instance type",
    ),
    (
        "RDS-EVENT-0501",
        "db-instance",
        Action::Ignore,
        "Server certificate requires rotation through a pending maintenance action",
    ),
    (
        "RDS-EVENT-0502",
        "db-instance",
        Action::Ignore,
        "Server certificate rotation scheduled for the next maintenance window",
    ),
    // RDS Proxy — creation (RDS+Aurora UGs)
    (
        "RDS-EVENT-0203",
        "db-proxy",
        Action::Created,
        "RDS created DB proxy name",
    ),
    // RDS Proxy — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0204",
        "db-proxy",
        Action::Reresolve,
        "RDS modified DB proxy name",
    ),
    // RDS Proxy — deletion (RDS+Aurora UGs)
    (
        "RDS-EVENT-0205",
        "db-proxy",
        Action::Deleted,
        "RDS deleted DB proxy name",
    ),
    // RDS Proxy — creation (RDS+Aurora UGs)
    (
        "RDS-EVENT-0206",
        "db-proxy",
        Action::Reresolve,
        "RDS created endpoint name for DB proxy name; the event may name the proxy, not the endpoint: re-resolve, never create",
    ),
    // RDS Proxy — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0207",
        "db-proxy",
        Action::Reresolve,
        "RDS modified the end point of the DB proxy name",
    ),
    // RDS Proxy — deletion (RDS+Aurora UGs)
    (
        "RDS-EVENT-0208",
        "db-proxy",
        Action::Reresolve,
        "RDS deleted endpoint name for DB proxy name; the event may name the proxy, whose other endpoints live on: re-resolve, never delete",
    ),
    // RDS Proxy — configuration change (RDS+Aurora UGs)
    (
        "RDS-EVENT-0213",
        "db-proxy",
        Action::Reresolve,
        "RDS detected the addition of the DB instance; added it to the proxy target group",
    ),
    (
        "RDS-EVENT-0214",
        "db-proxy",
        Action::Reresolve,
        "RDS detected deletion of DB instance; removed it from the proxy target group",
    ),
    (
        "RDS-EVENT-0215",
        "db-proxy",
        Action::Reresolve,
        "RDS detected deletion of DB cluster; removed it from the proxy target group",
    ),
    // RDS Proxy — failure (RDS+Aurora UGs)
    (
        "RDS-EVENT-0243",
        "db-proxy",
        Action::Ignore,
        "RDS failed to provision capacity for proxy: not enough IPs; capacity only",
    ),
    (
        "RDS-EVENT-0275",
        "db-proxy",
        Action::Ignore,
        "RDS throttled some connections to DB proxy name; throttling",
    ),
];
