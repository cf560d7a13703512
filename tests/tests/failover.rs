//! The foundation's end-to-end proof: a route follows its database's DNS name through the
//! real SDK clients, moto and a loopback DNS server.

use privatelink_router::domain::plan::{LookupFailure, Note};
use privatelink_router::flows::service;
use router_tests::dns::Mode;
use router_tests::fixtures::Bed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_group_follows_a_flipped_record_and_drops_the_old_ip_after_the_window() {
    let bed = Bed::start("failover").await;
    bed.dns
        .set_cname("orders.db.test", "orders-primary.db.test");
    bed.set_ip("orders-primary.db.test", [10, 1, 2, 3]);
    let route = bed.add_route("orders", "orders.db.test", 5432).await;
    assert_eq!(bed.targets(&route).await, vec!["10.1.2.3:5432"]);

    bed.set_ip("orders-primary.db.test", [10, 1, 9, 9]);
    let out = service::sync(&bed.ctx, &Bed::owner(), "orders")
        .await
        .unwrap();
    assert_eq!(
        out.plan.register.len(),
        1,
        "new IP registered in the first reconcile"
    );
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.1.2.3:5432", "10.1.9.9:5432"],
        "old IP kept while inside the K=3 window (make-before-break)"
    );

    for _ in 0..2 {
        service::sync(&bed.ctx, &Bed::owner(), "orders")
            .await
            .unwrap();
    }
    assert_eq!(bed.targets(&route).await, vec!["10.1.9.9:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_server_that_stops_answering_changes_nothing() {
    let bed = Bed::start("dnsdown").await;
    bed.set_ip("orders.db.test", [10, 1, 2, 3]);
    let route = bed.add_route("orders", "orders.db.test", 5432).await;
    let before = bed.route("orders").await;

    bed.dns.set_mode(Mode::Drop);
    for _ in 0..2 {
        let out = service::sync(&bed.ctx, &Bed::owner(), "orders")
            .await
            .unwrap();
        assert!(out.plan.is_noop());
        assert!(out.plan.notes.contains(&Note::LookupFailed {
            failure: LookupFailure::Timeout
        }));
    }
    assert_eq!(bed.targets(&route).await, vec!["10.1.2.3:5432"]);

    bed.dns.set_mode(Mode::ServFail);
    let out = service::sync(&bed.ctx, &Bed::owner(), "orders")
        .await
        .unwrap();
    assert!(out.plan.notes.contains(&Note::LookupFailed {
        failure: LookupFailure::ServFail
    }));
    bed.dns.set_mode(Mode::Normal);
    bed.dns.remove("orders.db.test");
    let out = service::sync(&bed.ctx, &Bed::owner(), "orders")
        .await
        .unwrap();
    assert!(out.plan.notes.contains(&Note::LookupFailed {
        failure: LookupFailure::NxDomain
    }));
    assert_eq!(bed.targets(&route).await, vec!["10.1.2.3:5432"]);
    let after = bed.route("orders").await;
    assert_eq!(
        after.sightings, before.sightings,
        "failures are not successful lookups"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_outside_router_subnets_register_with_zone_all_and_inside_without() {
    let bed = Bed::start("zones").await;
    bed.dns.set_a(
        "mixed.db.test",
        &[
            "10.0.1.7".parse().unwrap(),
            "10.0.9.5".parse().unwrap(),
            "10.20.0.4".parse().unwrap(),
        ],
    );
    let route = bed.add_route("mixed", "mixed.db.test", 3306).await;
    let out = service::sync(&bed.ctx, &Bed::owner(), "mixed")
        .await
        .unwrap();
    assert!(out.plan.is_noop());
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.0.1.7:3306", "10.0.9.5:3306", "10.20.0.4:3306"]
    );
    let created = bed.route("mixed").await;
    assert_eq!(
        created.status,
        privatelink_router::domain::route::RouteStatus::Active
    );
}
