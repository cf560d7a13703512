//! What the router actually sends to ELBv2: registrations carry AvailabilityZone `all` only
//! for IPs outside the router VPC's subnets, and every deregistration carries the Port (and AZ)
//! the target was registered with. Moto accepts either way, so the requests themselves are
//! recorded with an SDK interceptor and checked.

use std::sync::{Arc, Mutex};

use aws_sdk_elasticloadbalancingv2::operation::deregister_targets::DeregisterTargetsInput;
use aws_sdk_elasticloadbalancingv2::operation::register_targets::RegisterTargetsInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use privatelink_router::adapters::aws::clients::Clients;
use privatelink_router::config::Config;
use privatelink_router::context::Context;
use privatelink_router::flows::service;
use router_tests::fixtures::Bed;

/// `(operation, ip, port, az)` of every target sent.
type Sent = Arc<Mutex<Vec<(&'static str, String, Option<i32>, Option<String>)>>>;

#[derive(Debug, Clone, Default)]
struct Recorder(Sent);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let mut sent = self.0.lock().unwrap();
        if let Some(r) = input.downcast_ref::<RegisterTargetsInput>() {
            for t in r.targets() {
                sent.push((
                    "register",
                    t.id().unwrap_or_default().into(),
                    t.port(),
                    t.availability_zone().map(Into::into),
                ));
            }
        }
        if let Some(d) = input.downcast_ref::<DeregisterTargetsInput>() {
            for t in d.targets() {
                sent.push((
                    "deregister",
                    t.id().unwrap_or_default().into(),
                    t.port(),
                    t.availability_zone().map(Into::into),
                ));
            }
        }
        Ok(())
    }
}

async fn recorded_context(bed: &Bed) -> (Context, Sent) {
    let recorder = Recorder::default();
    let mut clients = Clients::from_sdk_config(&bed.sdk);
    let conf = aws_sdk_elasticloadbalancingv2::config::Builder::from(&bed.sdk)
        .interceptor(recorder.clone())
        .build();
    clients.elb = aws_sdk_elasticloadbalancingv2::Client::from_conf(conf);
    let config = Config::from_lookup(&|k| bed.env.get(k).cloned()).unwrap();
    (Context::build(config, clients).await.unwrap(), recorder.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_use_zone_all_exactly_for_ips_outside_the_vpc_subnets() {
    let bed = Bed::start("azall").await;
    let (ctx, sent) = recorded_context(&bed).await;
    bed.dns.set_a(
        "zones.db.test",
        &[
            "10.0.1.7".parse().unwrap(),
            "10.0.9.5".parse().unwrap(),
            "10.20.0.4".parse().unwrap(),
        ],
    );
    let req = router_tests::fixtures::create_request("zones", "zones.db.test");
    service::create(&ctx, &Bed::owner(), &req).await.unwrap();
    let mut regs = sent.lock().unwrap().clone();
    regs.sort();
    assert_eq!(
        regs,
        vec![
            ("register", "10.0.1.7".to_string(), Some(5432), None),
            (
                "register",
                "10.0.9.5".to_string(),
                Some(5432),
                Some("all".to_string())
            ),
            (
                "register",
                "10.20.0.4".to_string(),
                Some(5432),
                Some("all".to_string())
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_deregistration_carries_the_registered_port_and_the_ip_is_gone_afterwards() {
    let bed = Bed::start("deregport").await;
    let (ctx, sent) = recorded_context(&bed).await;
    bed.set_ip("pay.db.test", [10, 1, 2, 3]);
    let route = bed.add_route("pay", "pay.db.test", 5432).await;
    // A stranger registered on another port by hand: must be removed with *its* port.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&bed.sdk);
    elb.register_targets()
        .target_group_arn(route.target_group_arn.clone().unwrap())
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id("10.66.0.1")
                .port(6543)
                .availability_zone("all")
                .build(),
        )
        .send()
        .await
        .unwrap();
    bed.set_ip("pay.db.test", [10, 1, 9, 9]);
    for _ in 0..3 {
        service::sync(&ctx, &Bed::owner(), "pay").await.unwrap();
    }
    let deregs: Vec<_> = sent
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.0 == "deregister")
        .cloned()
        .collect();
    assert!(!deregs.is_empty());
    for d in &deregs {
        assert!(d.2.is_some(), "deregistration without Port: {d:?}");
    }
    assert!(deregs
        .iter()
        .any(|d| d.1 == "10.66.0.1" && d.2 == Some(6543)));
    assert!(deregs
        .iter()
        .any(|d| d.1 == "10.1.2.3" && d.2 == Some(5432)));
    assert_eq!(bed.targets(&route).await, vec!["10.1.9.9:5432"]);
}
